import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('score')
    .description('Score a submission against a solution file the way the competition does (MAP@5), after checking the submission.')
    .argument('<solution.csv>', 'the answers: columns image,individual_id (others, e.g. species, allowed), such as test_solution.csv')
    .argument('<submission.csv>', 'the submission: image,predictions with up to 5 space-separated ids')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  finprint score demo-data/test_solution.csv submission.csv --json')
    .action(async (solutionPath: string, submissionPath: string, o: { json?: boolean }) => {
      const { readSolution, readSubmission, scoreSubmission } = await import('../../identify/submission.js');
      const solution = await readSolution(solutionPath);
      const predictions = await readSubmission(submissionPath, solution.images, solutionPath);
      const m = scoreSubmission(solution, predictions);
      const perSpecies = solution.species ? Object.fromEntries(m.perSpecies.map((g) => [g.group, g.map5])) : undefined;
      if (o.json) {
        console.log(JSON.stringify({ map5: m.map5, images: m.images, top1: m.top1, top5: m.top5, known: m.known, new: m.new, ...(perSpecies ? { per_species_map5: perSpecies } : {}) }));
        return;
      }
      console.log(`${submissionPath}: MAP@5 ${m.map5.toFixed(5)} on ${m.images} photos (top-1 ${(m.top1 * 100).toFixed(1)}%, top-5 ${(m.top5 * 100).toFixed(1)}%)`);
      console.log(`  known individuals: ${m.known.images} photos, right id first ${(m.known.top1 * 100).toFixed(1)}%`);
      console.log(`  new individuals:   ${m.new.images} photos, new_individual first ${(m.new.top1 * 100).toFixed(1)}%`);
      for (const [species, v] of Object.entries(perSpecies ?? {})) console.log(`  ${species.padEnd(28)} MAP@5 ${v.toFixed(4)}`);
    });
}
