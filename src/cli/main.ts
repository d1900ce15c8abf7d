import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.js';
import { removeTempFiles } from '../util/fs.js';

/** The package version, read once so `--version` and run records agree. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Ctrl-C or a SIGTERM (a scheduler ending the job): abandon the file being written (files are
 * replaced atomically, so the previous one stays whole), remove its temp file, release the run
 * folder's lock (on exit) and say how to carry on.
 */
function stopCleanlyOnSignals(argv: readonly string[]): void {
  const command = ['finprint', ...argv.slice(2)];
  // Work that resumes is carried on by running it again (train with --resume); a server just stops.
  const again = command[1] === 'train' && !command.includes('--resume') ? [...command, '--resume'] : command;
  const hint = command[1] === 'serve' ? '' : ` To carry on: ${again.join(' ')}`;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeTempFiles();
      process.stderr.write(`\nfinprint: stopped by ${signal}; files already written are complete.${hint}\n`);
      process.exit(code);
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  stopCleanlyOnSignals(argv);
  const program = new Command();
  program
    .name('finprint')
    .description('Identify whales and dolphins from photographs: species, known individuals, new individuals.')
    .version(packageVersion())
    .showHelpAfterError();
  registerCommands(program);
  await program.parseAsync(argv);
}
