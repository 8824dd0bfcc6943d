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
    } else reply.log.info(entry, 'request completed');
  }
}
