import type pg from 'pg';

/**
 * Ends a node-postgres client's socket at once. `end()` sends a Terminate message and waits
 * for the server to close, which never happens on a connection that went silent (a black
 * hole, a dropped NAT entry); and a late answer on it must never be read as another query's.
 *
 * @example
 * destroySocket(client); // the client's next query fails, the pool drops it
 */
export function destroySocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
