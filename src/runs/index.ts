// The run-folder workflow the commands use, for code that wants whole runs rather than parts:
// `import { trainRun, Identifier } from 'finprint/runs'` (the library itself is 'finprint').
export { trainRun, type TrainRunOptions } from './train_run.js';
export { openRun, type OpenRun } from './open_run.js';
export { withEngine, runOnnx } from './run_engine.js';
export { readRunInfo, RUN_FILES, RUN_FORMAT, type RunInfo, type RunConfig, type RunResult } from './run_folder.js';
export { Identifier, type IdentifierOptions } from './identifier.js';
export { openZeroShot, type ZeroShotOptions } from './zero_shot.js';
export { evaluateRun } from './evaluate.js';
export { predictSubmission } from './predict.js';
export { runTournament } from './tournament.js';
