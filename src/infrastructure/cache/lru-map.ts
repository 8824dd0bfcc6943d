/**
 * A Map bounded to `maxEntries`, evicting the least recently used entry. Relies on
 * Map keeping insertion order: a hit moves the key to the end, eviction takes the first.
 *
 * @example
 * const lru = new LruMap<string, number>(2);
 * lru.set('a', 1); lru.set('b', 2); lru.get('a'); lru.set('c', 3); // evicts 'b'
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new Error(`LruMap: maxEntries must be a non-negative integer, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Deletes every entry the predicate picks; O(size), for rare bulk invalidations. */
  deleteWhere(predicate: (value: V, key: K) => boolean): number {
    let deleted = 0;
    for (const [key, value] of this.entries) {
      if (predicate(value, key)) {
        this.entries.delete(key);
        deleted += 1;
      }
    }
    return deleted;
  }

  clear(): void {
    this.entries.clear();
  }
}
