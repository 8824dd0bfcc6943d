import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One access line per request, written when the response is sent, with the request's
 * facts (method, URL, client address) beside the status and time: fastify writes two
 * ("incoming request", then "request completed"), and at the default level, info, the
 * second line cost a refresh about a tenth of its server CPU. fastify's other lines (errors
 * of its default handler, 404s, serializer failures) are kept.
 */
/** Routes logged at debug, not info. */
const PROBES: ReadonlySet<string> = new Set(['/health', '/ready']);
/** A gateway's check of each request its clients make (routes/forward-auth.ts). */
const FORWARD_AUTH: ReadonlySet<string> = new Set(['/api/v1/forward-auth', '/api/v1/forward-auth/*']);

export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const entry = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...entry, err: error }, 'request errored');
    // Probes come every few seconds from each balancer and orchestrator: at info they would
    // bury the requests. One that fails (a 503 from /ready) is worth seeing: warn.
    else if (PROBES.has(request.routeOptions.url ?? '')) {
      if (reply.statusCode >= 500) reply.log.warn(entry, 'probe failed');
      else reply.log.debug(entry, 'request completed');
    } else if (FORWARD_AUTH.has(request.routeOptions.url ?? '')) {
      // One per request through the gateway, like its own access log; a 401 or 403 is the
      // gateway doing its job. A misconfigured one (422 for an unknown role) and a failing
      // dependency (5xx) are worth seeing.
      const status = reply.statusCode;
      if (status >= 500) reply.log.warn(entry, 'forward-auth check failed');
      else if (status < 300 || status === 401 || status === 403) reply.log.debug(entry, 'request completed');
      else reply.log.info(entry, 'request completed');
    } else reply.log.info(entry, 'request completed');
  }
}
