/** Told the id of the last visible entry each time a node makes new entries visible. */
export type VisibleListener = (lastVisibleId: number) => void;

/**
 * "New entries are visible": the one signal a node gives to those who follow its log (the long
 * poll and the event stream of the HTTP layer). The master signals once a write is stored, a
 * secondary once its gap-free prefix grows. A listener is called synchronously and must not
 * throw; it is expected to do little more than schedule its own work.
 */
export class VisibleEntries {
  readonly #listeners = new Set<VisibleListener>();

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: VisibleListener): () => void {
    // Wrapped, so that the same function subscribed twice is two subscriptions.
    const entry: VisibleListener = (lastVisibleId) => {
      listener(lastVisibleId);
    };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  notify(lastVisibleId: number): void {
    for (const listener of this.#listeners) listener(lastVisibleId);
  }
}
