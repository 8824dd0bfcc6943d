import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between an instance and PostgreSQL or Redis, with the faults a
 * network and a server really have:
 *
 * - `freeze()`: a black hole. Connections stay open and new ones are accepted, but nothing
 *   crosses either way (what is sent is held). `thaw()` lets the held bytes through, as TCP
 *   does once a partition heals.
 * - `freezeExisting()`: the connections open now become black holes for good (a NAT or a
 *   firewall that silently dropped their state); new connections work. What a half-open
 *   LISTEN or pub/sub connection looks like.
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
  freezeExisting(): void;
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
  readonly held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const links = new Set<Link>();
  let frozen = false;
  let refusing = false;
  let accepted = 0;
  let target = targetPort;

  const forward = (link: Link, direction: 'toUpstream' | 'toClient', chunk: Buffer) => {
    const to = direction === 'toUpstream' ? link.upstream : link.client;
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
    const link: Link = { client, upstream, dead: false, held: { toUpstream: [], toClient: [] } };
    links.add(link);
    client.on('data', (chunk: Buffer) => forward(link, 'toUpstream', chunk));
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
    freezeExisting() {
      for (const link of links) link.dead = true;
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
