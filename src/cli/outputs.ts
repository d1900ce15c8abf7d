// What each command must not write over, as util/outputs.ts rules (checked before any work starts).
import { join } from 'node:path';
import type { OutputRule } from '../util/outputs.js';

type Guard = Required<Pick<OutputRule, 'inputs' | 'folders'>>;

/** A competition folder: its CSV files and its photo folders. */
export function dataFolderGuard(dir: string): Guard {
  return {
    inputs: ['train.csv', 'test_solution.csv', 'sample_submission.csv', 'boxes.csv'].map((f) => join(dir, f)),
    folders: ['train_images', 'test_images'].map((f) => ({ dir: join(dir, f), what: "the data folder's photos" })),
  };
}

/** Guards merged into one rule. */
export function outputRule(flag: string, force: boolean | undefined, ...guards: Partial<Guard>[]): OutputRule {
  return { flag, force: force ?? false, inputs: guards.flatMap((g) => g.inputs ?? []), folders: guards.flatMap((g) => g.folders ?? []) };
}
