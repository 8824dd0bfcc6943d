import { client, type Page, type User } from './api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The server's cap on ids per lookup. */
const BATCH = 100;

/**
 * User ids to emails, for the audit log: the ids of a page are looked up in one call
 * (`GET /admin/users?ids=…`) and remembered for the session, so paging back costs nothing.
 * An id the server does not know stays unresolved (shown as the id).
 */
export class UserDirectory {
  readonly #emails = new Map<string, string | null>();

  /** Looks up the ids not seen yet, at most 100 per request. */
  async resolve(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => UUID.test(id) && !this.#emails.has(id));
    for (let i = 0; i < missing.length; i += BATCH) {
      const batch = missing.slice(i, i + BATCH);
      const page = await client.request<Page<User>>('/api/v1/admin/users', {
        query: { ids: batch.join(','), limit: BATCH },
      });
      for (const id of batch) this.#emails.set(id, null);
      for (const user of page.items) this.#emails.set(user.id, user.email);
    }
  }

  /** The email of a resolved id, or null. */
  email(id: string): string | null {
    return this.#emails.get(id) ?? null;
  }

  /**
   * The id of the user with exactly this email (case-insensitive), or null.
   *
   * @example
   * const id = await directory.idOf('alice@example.com');
   */
  async idOf(email: string): Promise<string | null> {
    const wanted = email.trim().toLowerCase();
    let cursor: string | undefined;
    // The users API filters by "contains": page until the exact match shows up.
    for (let pages = 0; pages < 20; pages++) {
      const page = await client.request<Page<User>>('/api/v1/admin/users', {
        query: { email: wanted, limit: 200, cursor },
      });
      const found = page.items.find((u) => u.email.toLowerCase() === wanted);
      for (const user of page.items) this.#emails.set(user.id, user.email);
      if (found !== undefined) return found.id;
      if (page.nextCursor === null) return null;
      cursor = page.nextCursor;
    }
    return null;
  }
}
