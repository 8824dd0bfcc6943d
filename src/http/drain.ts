import type { ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { App } from './app.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether a drain began: `/ready` answers 503 from then on. Absent: no drain installed. */
    draining?: () => boolean;
  }
}

/** How often the drain looks for requests still in flight. */
const POLL_MS = 50;

/**
 * How long no request may start or finish before the drain calls the server quiet. Closing
 * then ends the idle keep-alive connections, and a client writing on one at that instant
 * meets a reset: two empty looks 50 ms apart were not enough on a loaded machine, where a
 * client between two requests can be off the CPU that long.
 */
const QUIET_MS = 500;

/**
 * The first phase of a graceful stop: stops accepting connections *without* closing the
 * idle keep-alive ones (Node's `server.close()` does, and a request its client is sending on
 * one at that moment meets a reset), answers everything from then on with `Connection: close`
 * so each client moves off its connection after its answer, and waits until no request is in
 * flight. `/ready` answers 503 from the start of the drain, so a load balancer probing over a
 * kept-alive connection takes the instance out before its connections close; with
 * `announceMs` the listener stays open that long first, so probes on new connections see the
 * 503 too (a load balancer needs a few probe intervals to stop routing). Event streams are
 * not waited for: the app's close ends them. Install before listening.
 *
 * @example
 * const drain = installDrain(app);
 * await drain(10_000, 5_000); // then app.close()
 * @returns a function that drains, resolving after the announcement, when nothing is in
 * flight or after `timeoutMs` more
 */
export function installDrain(app: App): (timeoutMs: number, announceMs?: number) => Promise<void> {
  const open = new Set<ServerResponse>();
  let draining = false;
  let lastActivity = Date.now();
  app.decorate('draining', () => draining);
  app.addHook('onRequest', async (_request, reply) => {
    const response = reply.raw;
    lastActivity = Date.now();
    open.add(response);
    response.once('close', () => {
      open.delete(response);
      lastActivity = Date.now();
    });
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
  const busy = () =>
    [...open].some(
      (response) => !String(response.getHeader('content-type') ?? '').startsWith('text/event-stream'),
    );
  return async (timeoutMs, announceMs = 0) => {
    draining = true;
    if (announceMs > 0) await new Promise((resolve) => setTimeout(resolve, announceMs));
    // net.Server's close: the listener goes (new connections are refused), open connections stay.
    NetServer.prototype.close.call(app.server);
    const until = Date.now() + timeoutMs;
    // Quiet: nothing in flight and no request started or finished for QUIET_MS, so the clients
    // answered lately have had their Connection: close and moved off before idle ones close.
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!busy() && Date.now() - lastActivity >= QUIET_MS) break;
    }
  };
}
