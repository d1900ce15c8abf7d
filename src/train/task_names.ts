// The task names alone, kept apart from the tasks so the command line can list them in its help
// without loading the engine.

// 'embedding' is a pretrained embedding model used as it is (zero-shot, e.g. MiewID): runs record it,
// but there is nothing to train, so it is not among the TASKS that train takes.
export type TaskName = 'species' | 'individual' | 'joint' | 'individual-softmax' | 'embedding';
export const TASKS: readonly TaskName[] = ['species', 'individual', 'joint', 'individual-softmax'];
