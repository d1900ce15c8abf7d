// The task names alone, kept apart from the tasks so the command line can list them in its help
// without loading the engine.

export type TaskName = 'species' | 'individual' | 'joint' | 'individual-softmax';
export const TASKS: readonly TaskName[] = ['species', 'individual', 'joint', 'individual-softmax'];
