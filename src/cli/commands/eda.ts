import type { Command } from 'commander';
import { computeEda, formatEda } from '../../data/eda.js';
import { readCompetition } from '../../data/happywhale.js';
import { loadSpeciesMapping, SPECIES_FIXES } from '../../data/species.js';
import { CHECK_LEVELS, formatIssues, type CheckLevel } from '../../data/validate.js';
import { edaPage } from '../../report/eda.js';
import { writePage } from '../../report/html.js';
import { intArg } from './parse.js';

export function register(program: Command): void {
  program
    .command('eda')
    .description('Explore and validate a competition folder: counts, species fixes, photos per individual, sizes, chance levels.')
    .argument('<dir>', 'folder with train.csv, train_images/, test_images/')
    .option('--json', 'print one JSON object instead of the summary')
    .option('--report <file.html>', 'also write a self-contained HTML report with charts')
    .option('--check <level>', `how hard to check each photo: ${CHECK_LEVELS.join(', ')}`, 'metadata')
    .option('--species-map <file>', 'extra species fixes: CSV from,to or a JSON object')
    .option('--concurrency <n>', 'photos checked at once', intArg, 8)
    .option('--force', 'replace --report if it exists')
    .option('--quiet', 'no progress output')
    .action(async (dir: string, o: { json?: boolean; report?: string; check: string; speciesMap?: string; concurrency: number; quiet?: boolean; force?: boolean }) => {
      if (o.report) {
        const { checkOutputFile } = await import('../../util/outputs.js');
        const { dataFolderGuard, outputRule } = await import('../outputs.js');
        checkOutputFile(o.report, outputRule('--report', o.force, dataFolderGuard(dir)));
      }
      const mapping = o.speciesMap ? await loadSpeciesMapping(o.speciesMap) : SPECIES_FIXES;
      const competition = await readCompetition(dir, { check: o.check as CheckLevel, speciesMapping: mapping, concurrency: o.concurrency, quiet: o.quiet ?? false });
      const stats = computeEda(competition);
      if (o.report) await writePage(o.report, edaPage(stats, competition.issues));
      if (o.json) {
        console.log(JSON.stringify({ ...stats, issue_list: competition.issues.slice(0, 1000) }));
        return;
      }
      console.log(formatEda(stats));
      if (competition.issues.length) console.log(formatIssues(competition.issues));
      if (o.report) console.log(`report: ${o.report}`);
    });
}
