import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.js';

/** The package version, read once so `--version` and run records agree. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('finprint')
    .description('Identify whales and dolphins from photographs: species, known individuals, new individuals.')
    .version(packageVersion())
    .showHelpAfterError();
  registerCommands(program);
  await program.parseAsync(argv);
}
