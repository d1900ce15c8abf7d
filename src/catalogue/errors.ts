// What can go wrong with a catalogue request, by kind, so an application can answer each the way
// its users expect (the review server: 404, 409 with the current state, 400).

/** A record that does not exist (or no longer: merged, deleted by an undo). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The record changed since the caller saw it (another reviewer decided first), or the change would contradict a later one. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(message: string, readonly current: unknown) {
    super(message);
  }
}

/** A request that cannot be carried out as asked (confirming a merged individual, merging one into itself...). */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}
