import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { RevocationChange } from '../../application/ports/revocation-log.js';
import type { RevocationFeedPage } from '../../application/queries/get-revocations/query.js';
import type { Config } from '../../config.js';
import { TokenwardenError } from '../../domain/errors.js';
import type { HttpDeps } from '../http-deps.js';
import { type Guards, iso, isoOrNull, noStore, unwrap } from '../route-kit.js';
import { DateTime, NullableDateTime, problemResponses } from '../schemas.js';

/** Rows one read of the log takes, for the catch-up page and each step of a stream's backlog. */
const STREAM_PAGE = 500;
/** Unsent bytes a stream may hold for a slow reader before it is ended. */
const MAX_BUFFERED_BYTES = 1 << 20;

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

const FeedQuery = Type.Object(
  {
    after: Type.Optional(Seq),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
  },
  { additionalProperties: false },
);

const StreamQuery = Type.Object({ after: Type.Optional(Seq) }, { additionalProperties: false });

const RevocationKindSchema = Type.Union([
  Type.Literal('global_version'),
  Type.Literal('user_version'),
  Type.Literal('user_disabled'),
  Type.Literal('user_enabled'),
  Type.Literal('session_revoked'),
  Type.Literal('signing_key_retired'),
  Type.Literal('signing_key_rotated'),
]);

const ChangeSchema = Type.Object({
  seq: Seq,
  kind: RevocationKindSchema,
  userId: Type.Union([Type.String(), Type.Null()]),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  kid: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  occurredAt: DateTime,
});

const StateSchema = Type.Object({
  globalMinTokenVersion: Type.Integer(),
  graceUntil: NullableDateTime,
  gracePeriodSeconds: Type.Integer(),
  signingKeys: Type.Array(
    Type.Object({
      kid: Type.String(),
      status: Type.Union([Type.Literal('active'), Type.Literal('verifying'), Type.Literal('retired')]),
    }),
  ),
});

const FeedSchema = Type.Object({
  state: StateSchema,
  changes: Type.Array(ChangeSchema),
  lastSeq: Seq,
  hasMore: Type.Boolean(),
  windowStart: DateTime,
  accessTokenTtlSeconds: Type.Integer(),
});

const changeJson = (change: RevocationChange) => ({
  ...change,
  details: { ...change.details },
  occurredAt: iso(change.occurredAt),
});

const stateJson = (page: RevocationFeedPage) => ({
  ...page.state,
  graceUntil: isoOrNull(page.state.graceUntil),
  signingKeys: [...page.state.signingKeys],
});

/**
 * The revocation feed (README, "Revocation feed"): a catch-up page and a Server-Sent
 * Events stream. For service clients; until they exist, admin only.
 */
export const revocationRoutes =
  (
    deps: Pick<HttpDeps, 'services' | 'onRevocationChange'>,
    guards: Guards,
    feed: Config['feed'],
  ): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { services } = deps;
    // Services that verify tokens themselves read the feed with their client credentials; admins may too.
    const guarded = { preHandler: guards.requireServiceClientOrAdmin };
    const security: Record<string, string[]>[] = [{ serviceClient: [] }, { admin: [] }];
    const streams = new Set<() => void>();

    app.get(
      '/revocations',
      {
        ...guarded,
        schema: {
          operationId: 'getRevocations',
          tags: ['revocations'],
          summary: 'What a verifier needs now, and the changes after a sequence number',
          security,
          querystring: FeedQuery,
          response: { 200: FeedSchema, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        noStore(reply);
        const page = unwrap(
          await services.getRevocations.execute({
            after: request.query.after ?? 0,
            limit: request.query.limit,
          }),
        );
        return {
          state: stateJson(page),
          changes: page.changes.map(changeJson),
          lastSeq: page.lastSeq,
          hasMore: page.hasMore,
          windowStart: iso(page.windowStart),
          accessTokenTtlSeconds: page.accessTokenTtlSeconds,
        };
      },
    );

    app.get(
      '/revocations/stream',
      {
        ...guarded,
        schema: {
          operationId: 'streamRevocations',
          tags: ['revocations'],
          summary: 'The revocation feed as Server-Sent Events (id = seq; resume with Last-Event-ID)',
          security,
          querystring: StreamQuery,
          response: {
            200: {
              description: 'state, then one event per change (id = seq, event = kind), heartbeats',
              content: { 'text/event-stream': { schema: Type.String() } },
            },
            ...problemResponses(401, 403, 422, 503),
          },
        },
      },
      async (request, reply) => {
        if (streams.size >= feed.maxStreams) {
          throw new TokenwardenError(
            'service_unavailable',
            'Too many open revocation streams on this instance',
          );
        }
        const header = request.headers['last-event-id'];
        const fromHeader =
          typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
        openStream(reply, fromHeader ?? request.query.after ?? 0);
      },
    );

    // Open streams would hold the server's close forever: end them first.
    app.addHook('preClose', async () => {
      for (const end of [...streams]) end();
    });

    function openStream(reply: FastifyReply, after: number): void {
      reply.hijack();
      const raw = reply.raw;
      // The slow-client timeouts are for receiving requests; this response is meant to stay open.
      raw.socket?.setTimeout(0);
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        // The socket goes with the stream: a server closing must not wait for it to idle out.
        connection: 'close',
      });
      raw.write('retry: 1000\n\n');
      let cursor = after;
      let closed = false;
      let running: Promise<void> | null = null;
      let again = false;

      const send = (text: string) => {
        if (closed) return;
        raw.write(text);
        // A client that stopped reading: end rather than buffer; it resumes with Last-Event-ID.
        if (raw.writableLength > MAX_BUFFERED_BYTES) end();
      };
      // One read at a time; a wake-up during a read runs one more after it, so none is lost.
      const pump = (): Promise<void> => {
        if (running !== null) {
          again = true;
          return running;
        }
        running = (async () => {
          try {
            do {
              again = false;
              await drain();
            } while (again && !closed);
          } catch (error) {
            reply.log.warn(
              { err: String(error) },
              'revocation stream: reading the log failed, retrying at the next heartbeat',
            );
          } finally {
            running = null;
          }
        })();
        return running;
      };
      const drain = async () => {
        for (let first = cursor === after; !closed; first = false) {
          const page = unwrap(await services.getRevocations.execute({ after: cursor, limit: STREAM_PAGE }));
          if (first)
            send(
              `event: state\ndata: ${JSON.stringify({ ...stateJson(page), accessTokenTtlSeconds: page.accessTokenTtlSeconds })}\n\n`,
            );
          for (const change of page.changes) {
            send(`id: ${change.seq}\nevent: ${change.kind}\ndata: ${JSON.stringify(changeJson(change))}\n\n`);
          }
          cursor = page.lastSeq;
          if (!page.hasMore) return;
        }
      };

      const unsubscribe = deps.onRevocationChange?.(() => void pump()) ?? (() => {});
      // The heartbeat is also the safety net: a wake-up lost between instances is read here.
      const heartbeat = setInterval(() => {
        void pump().then(() => send(`event: heartbeat\ndata: ${JSON.stringify({ lastSeq: cursor })}\n\n`));
      }, feed.heartbeatSeconds * 1000);
      const end = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(end);
        if (raw.destroyed) return;
        raw.end();
        // Closed when written out: a client gone silently would otherwise hold the server's close.
        raw.socket?.destroySoon();
      };
      streams.add(end);
      raw.on('close', end);
      void pump();
    }
  };
