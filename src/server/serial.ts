// One upload at a time, in the order they arrived: an upload checks which of its photos the
// catalogue already holds, stores and embeds the new ones (real I/O, during which other requests
// run) and then adds them; two uploads interleaving would both take the same photo for new, and
// one would fail on the duplicate. Decisions need no queue (each is one synchronous SQLite
// transaction, the encounter's version deciding who was first), nor do searches (the catalogue
// answers those asked for at once in one batch, and keeps the index a search is using).

export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; its result or error is the caller's. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
