import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  /** The raw body, as the signature covers it. */
  readonly body: string;
  /** What the receiver answered. */
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Answer every request with this status from now on (e.g. 200 after a failing start). */
  answerWith(status: number): void;
  /** Parsed bodies of the requests answered 2xx. */
  accepted(): { id: string; type: string; occurredAt: string; payload: Record<string, unknown> }[];
  /** Ids of the events answered 2xx, sorted: compare with the ids appended, sorted. */
  acceptedIds(): string[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1 (a free port): answers `failFirst` requests with
 * `failStatus`, then `okStatus`, and remembers every request.
 */
export async function startWebhookReceiver(
  options: { failFirst?: number; failStatus?: number; okStatus?: number } = {},
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let failuresLeft = options.failFirst ?? 0;
  let fixed: number | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let status: number;
      if (fixed !== null) status = fixed;
      else if (failuresLeft > 0) {
        failuresLeft -= 1;
        status = options.failStatus ?? 503;
      } else status = options.okStatus ?? 204;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/tokenwarden`,
    received,
    answerWith(status) {
      fixed = status;
    },
    accepted: () => received.filter((r) => r.status < 300).map((r) => JSON.parse(r.body)),
    acceptedIds: () =>
      received
        .filter((r) => r.status < 300)
        .map((r) => (JSON.parse(r.body) as { id: string }).id)
        .sort(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
