import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between an instance and PostgreSQL or Redis, with the faults a
 * network and a server really have:
 *
 * - `freeze()`: a black hole. Connections stay open and new ones are accepted, but nothing
 *   crosses either way (what is sent is held). `thaw()` lets the held bytes through, as TCP
 *   does once a partition heals.
 * - `freezeExisting(pattern?)`: the connections open now become black holes for good (a NAT
 *   or a firewall that silently dropped their state); new connections work. With a pattern,
 *   only those whose client has sent a match so far (`/listen /i`: a PostgreSQL LISTEN
 *   connection; `/subscribe/i`: a Redis subscriber). What a half-open subscription looks like.
 * - `holdRepliesAfter(pattern)`: from the moment a client sends a match (say a statement's
 *   text), that connection's replies are held for good: the server did the work, the client
 *   never hears of it. What a stall after a commit looks like to the client.
 * - `cut()`: every open connection is reset; new ones still work.
 * - `refuse()`: the server is gone: open connections reset, new ones closed on accept.
 *   `accept()` undoes it.
 *
 * @example
 * const proxy = await startTcpProxy(5432);
 * const url = proxy.rewrite(process.env.DATABASE_URL!); // the same URL, through the proxy
 * proxy.freeze(); … proxy.thaw();
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  freeze(): void;
  thaw(): void;
  freezeExisting(pattern?: RegExp): number;
  /** Null stops holding replies of connections that match from now on (held ones stay held). */
  holdRepliesAfter(pattern: RegExp | null): void;
  /** How many connections have had their replies held by `holdRepliesAfter`. */
  readonly heldReplies: number;
  cut(): void;
  refuse(): void;
  accept(): void;
  /** New connections go to this port from now on (a virtual address following a failover); open ones stay. */
  retarget(port: number): void;
  /** Connections open through the proxy now. */
  readonly openConnections: number;
  /** Connections accepted since the start (refused ones not counted). */
  readonly acceptedConnections: number;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Held for good: a dropped connection, never thawed. */
  dead: boolean;
  /** The start of what the client sent (latin1), for `freezeExisting(pattern)`. */
  sent: string;
  /** Replies held for good (`holdRepliesAfter`). */
  deaf: boolean;
  readonly held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

const MAX_TRANSCRIPT = 64 * 1024;

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const links = new Set<Link>();
  let frozen = false;
  let refusing = false;
  let accepted = 0;
  let holdAfter: RegExp | null = null;
  let heldReplies = 0;
  let target = targetPort;

  const forward = (link: Link, direction: 'toUpstream' | 'toClient', chunk: Buffer) => {
    const to = direction === 'toUpstream' ? link.upstream : link.client;
    if (direction === 'toClient' && link.deaf) return;
    if (frozen || link.dead) link.held[direction].push(chunk);
    else if (!to.destroyed) to.write(chunk);
  };
  const flush = (link: Link) => {
    if (link.dead) return;
    for (const direction of ['toUpstream', 'toClient'] as const) {
      const to = direction === 'toUpstream' ? link.upstream : link.client;
      for (const chunk of link.held[direction].splice(0)) if (!to.destroyed) to.write(chunk);
    }
    // A side that went away while frozen: what it sent still arrives (late), then its end.
    if (link.client.destroyed || link.upstream.destroyed) {
      links.delete(link);
      link.client.destroy();
      link.upstream.end();
    }
  };
  const reset = (link: Link) => {
    links.delete(link);
    link.client.resetAndDestroy();
    link.upstream.destroy();
  };

  const server: Server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    client.setNoDelay(true);
    const upstream = connect(target, targetHost);
    upstream.setNoDelay(true);
    const link: Link = {
      client,
      upstream,
      dead: false,
      sent: '',
      deaf: false,
      held: { toUpstream: [], toClient: [] },
    };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.sent.length < MAX_TRANSCRIPT) link.sent += chunk.toString('latin1');
      if (holdAfter !== null && !link.deaf && holdAfter.test(chunk.toString('latin1'))) {
        link.deaf = true;
        heldReplies += 1;
      }
      forward(link, 'toUpstream', chunk);
    });
    upstream.on('data', (chunk: Buffer) => forward(link, 'toClient', chunk));
    // A held connection must not be ended by its peer either: a black hole carries no FIN.
    const end = () => {
      if (link.dead || frozen) return;
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', () => reset(link)).on('close', end);
    upstream.on('error', () => reset(link)).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');
  const port = address.port;

  return {
    port,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const link of links) flush(link);
    },
    freezeExisting(pattern) {
      let frozen = 0;
      for (const link of links) {
        if (pattern !== undefined && !pattern.test(link.sent)) continue;
        link.dead = true;
        frozen += 1;
      }
      return frozen;
    },
    holdRepliesAfter(pattern) {
      holdAfter = pattern;
    },
    get heldReplies() {
      return heldReplies;
    },
    cut() {
      for (const link of [...links]) reset(link);
    },
    refuse() {
      refusing = true;
      for (const link of [...links]) reset(link);
    },
    accept() {
      refusing = false;
    },
    retarget(port) {
      target = port;
    },
    get openConnections() {
      return links.size;
    },
    get acceptedConnections() {
      return accepted;
    },
    close: () =>
      new Promise((resolve) => {
        for (const link of [...links]) reset(link);
        server.close(() => resolve());
      }),
  };
}
