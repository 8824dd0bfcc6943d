/**
 * A first-come, first-served async mutex. `acquire` resolves once every earlier
 * holder has released, with a release function that is safe to call twice.
 *
 * @example
 * const release = await mutex.acquire();
 * try { await work(); } finally { release(); }
 */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let unlock!: () => void;
    const held = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    await previous;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        unlock();
      }
    };
  }
}
