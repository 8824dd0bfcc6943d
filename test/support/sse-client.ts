import { setTimeout as sleep } from 'node:timers/promises';

export interface SseEvent {
  readonly id: string | null;
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly at: number;
}

/**
 * A Server-Sent Events client over fetch: every event, parsed, with when it arrived, and
 * when the stream ended.
 *
 * @example
 * const client = await SseClient.open(`${base}/api/v1/revocations/stream`, `Bearer ${token}`);
 * await client.waitFor((e) => e.event === 'state', 2_000);
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly #abort = new AbortController();
  #endedAt: number | null = null;
  status = 0;
  headers = new Headers();
  /** The body when the answer was not a stream (a problem document). */
  text = '';

  /** `authorization`: a whole header value (`Bearer …`, `Basic …`), or a bare bearer token. */
  static async open(url: string, authorization: string, lastEventId?: string): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, {
      headers: {
        authorization: /^(Bearer|Basic) /.test(authorization) ? authorization : `Bearer ${authorization}`,
        accept: 'text/event-stream',
        ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      },
      signal: client.#abort.signal,
    });
    client.status = res.status;
    client.headers = res.headers;
    if (res.status !== 200) {
      client.text = await res.text();
      client.#endedAt = Date.now();
    } else if (res.body !== null) void client.read(res.body);
    return client;
  }

  get ended(): boolean {
    return this.#endedAt !== null;
  }

  /** When the server ended the stream (epoch ms), or null while it is open. */
  get endedAt(): number | null {
    return this.#endedAt;
  }

  changes(): SseEvent[] {
    return this.events.filter((e) => e.id !== null);
  }

  async waitFor(predicate: (e: SseEvent) => boolean, timeoutMs: number): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline || this.ended) throw new Error(`no such event within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Resolves with when the stream ended; throws if it is still open after `timeoutMs`. */
  async waitForEnd(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#endedAt === null) {
      if (Date.now() > deadline) throw new Error(`the stream is still open after ${timeoutMs} ms`);
      await sleep(10);
    }
    return this.#endedAt;
  }

  close(): void {
    this.#abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = body.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || line === '') continue;
            const colon = line.indexOf(':');
            fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          const data = fields.get('data');
          if (data === undefined) continue;
          this.events.push({
            id: fields.get('id') ?? null,
            event: fields.get('event') ?? 'message',
            data: JSON.parse(data) as Record<string, unknown>,
            at: Date.now(),
          });
        }
      }
    } catch {
      // aborted
    } finally {
      this.#endedAt = Date.now();
    }
  }
}
