import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RevocationChange } from '../../application/ports/revocation-log.js';
import type { RevocationFeedPage } from '../../application/queries/get-revocations/query.js';
import type { Config } from '../../config.js';
import { ServiceUnavailableError, validationError } from '../../domain/errors.js';
import type { HttpDeps } from '../http-deps.js';
import { type Guards, iso, isoOrNull, noStore, unwrap } from '../route-kit.js';
import { DateTime, defaulted, NullableDateTime, problemResponse, problemResponses } from '../schemas.js';

/** Rows one read of the log takes, for the catch-up page and each step of a stream's backlog. */
const STREAM_PAGE = 500;
/** Unsent bytes a stream may hold for a slow reader before it is ended. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** Failed reads of the log in a row after which a stream ends: a transient blip is retried once. */
const MAX_FAILED_READS = 2;
/** The retry of a failed read, well inside one heartbeat. */
const RETRY_DELAY_MS = 250;
/** setTimeout's ceiling (about 24.8 days); a later `exp` is caught by the heartbeat's check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

const FeedQuery = Type.Object(
  {
    after: Type.Optional(Seq),
    limit: defaulted(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
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

export const ChangeSchema = Type.Object({
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

export const FeedSchema = Type.Object({
  state: StateSchema,
  changes: Type.Array(ChangeSchema),
  lastSeq: Seq,
  hasMore: Type.Boolean(),
  headSeq: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description:
      "The log's highest committed seq as this read saw it; below `after` only when the log went back (restored)",
  }),
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

/** Whose stream this is: the service client, or the admin user holding the bearer token. */
const streamOwner = (request: FastifyRequest): string =>
  request.serviceClient
    ? `client:${request.serviceClient.clientId}`
    : `admin:${request.principal?.userId ?? 'unknown'}`;

/** `promise`, or a rejection once `ms` pass first (the promise runs on, its outcome ignored). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The revocation feed (docs/VERIFIER.md, "The revocation feed"): a catch-up page and a Server-Sent
 * Events stream. For service clients; until they exist, admin only.
 */
export const revocationRoutes =
  (
    deps: Pick<HttpDeps, 'services' | 'onRevocationChange' | 'onServiceClientRevoked' | 'now'>,
    guards: Guards,
    feed: Config['feed'],
  ): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { services } = deps;
    const now = () => (deps.now?.() ?? new Date()).getTime();
    // Services that verify tokens themselves read the feed with their client credentials; admins may too.
    const guarded = { preHandler: guards.requireServiceClientOrAdmin };
    const security: Record<string, string[]>[] = [{ serviceClient: [] }, { admin: [] }];
    // In opening order (a Set keeps it), so a client's first entry is its oldest stream.
    const streams = new Set<{ end(why: string): void; readonly owner: string }>();
    // A read slower than this counts as failed: a database that stopped answering holds a
    // query for minutes, and the stream must end within a heartbeat or two.
    const readTimeoutMs = Math.max(1_000, (feed.heartbeatSeconds * 1000) / 2);

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
          headSeq: page.headSeq,
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
          description:
            "First `event: state` (the state, `lastSeq`: the log's head, `readAt`; sent once per connection), " +
            'then one event per change (`id` = seq, `event` = kind, `data` = the change): with `Last-Event-ID` ' +
            '(or `after`) every change in the window after that seq, without either only the changes made ' +
            'after the head the state carries. Every heartbeat interval an ' +
            '`event: heartbeat` with `{"lastSeq", "readAt"}`, sent only after a successful read of the log: ' +
            '`lastSeq` is the head it read (every change up to it was sent before), `readAt` when. An instance ' +
            'that cannot read the log ends its streams and answers 503 until it can again. A stream also ends ' +
            "at its token's `exp`, when its service client is revoked, and when its admin token stops " +
            'authenticating: reconnect with fresh credentials and `Last-Event-ID`.',
          security,
          querystring: StreamQuery,
          response: {
            200: {
              description:
                'state, then one event per change (id = seq, event = kind), heartbeats {lastSeq, readAt}',
              content: { 'text/event-stream': { schema: Type.String() } },
            },
            ...problemResponses(401, 403, 422),
            503: {
              ...problemResponse(503),
              description:
                'Too many open streams on this instance, or it cannot read the revocation log right now',
              headers: {
                'Retry-After': { type: 'integer', description: 'Seconds until a retry may succeed' },
              },
            },
          },
        },
      },
      async (request, reply) => {
        const header = request.headers['last-event-id'];
        // A cursor that cannot be read is refused: read as none, the stream would start at the
        // head and skip the window a resuming consumer needs (docs/FEED.md §5). Empty is none.
        if (typeof header === 'string' && header !== '' && !/^\d{1,15}$/.test(header)) {
          throw validationError(
            [
              {
                path: '/headers/last-event-id',
                message: 'must be a sequence number: 1 to 15 decimal digits',
              },
            ],
            'Last-Event-ID is not a sequence number of this feed',
          );
        }
        if (streams.size >= feed.maxStreams) {
          throw new ServiceUnavailableError(
            null,
            `Too many open revocation streams on this instance (TOKENWARDEN_FEED_MAX_STREAMS = ${feed.maxStreams})`,
            { retryAfterSeconds: feed.heartbeatSeconds },
          );
        }
        const fromHeader = typeof header === 'string' && header !== '' ? Number(header) : undefined;
        // A consumer that resumes (Last-Event-ID or `after`, even 0) is replayed the window from
        // there; a new one starts from the current state at the log's head, then hears only what
        // comes next (it has nothing to replay the window into).
        const resumeFrom = fromHeader ?? request.query.after;
        // Read before answering 200: an instance cut off from its log refuses the stream, so the
        // client retries (another instance, or this one later) instead of hearing a silent feed.
        let first: RevocationFeedPage;
        try {
          first = resumeFrom === undefined ? atHead(await readWithin(0, 1)) : await readWithin(resumeFrom);
        } catch (error) {
          request.log.warn({ err: String(error) }, 'revocation stream refused: the log cannot be read');
          throw new ServiceUnavailableError(
            'revocation_log',
            'The revocation log cannot be read on this instance right now',
            { retryAfterSeconds: feed.heartbeatSeconds, cause: error },
          );
        }
        makeRoomFor(request);
        openStream(request, reply, resumeFrom ?? first.lastSeq, first);
      },
    );

    /**
     * One service client (or admin) holds at most `feed.maxStreamsPerClient` streams. A new
     * one past that ends the owner's oldest instead of being refused: a verifier reconnecting
     * while its old connection still looks open here (a dropped NAT entry keeps a dead
     * socket "open" for minutes) must get through, and a client can only ever push out its
     * own streams, never take another's slot. Run just before the stream opens, with no
     * await between, so concurrent opens by one client cannot all slip under the cap.
     */
    const makeRoomFor = (request: FastifyRequest) => {
      const owner = streamOwner(request);
      const own = [...streams].filter((s) => s.owner === owner);
      for (const stale of own.slice(0, Math.max(0, own.length - feed.maxStreamsPerClient + 1))) {
        request.log.warn(
          { owner, cap: feed.maxStreamsPerClient },
          'revocation stream replaced by a newer one of the same client (TOKENWARDEN_FEED_MAX_STREAMS_PER_CLIENT)',
        );
        stale.end('replaced by a newer stream of the same client');
      }
    };

    // Open streams would hold the server's close forever: end them first.
    app.addHook('preClose', async () => {
      for (const stream of [...streams]) stream.end('server closing');
    });

    /**
     * One page of the log, or a rejection when the read fails or takes longer than the
     * read timeout (a database that stopped answering holds the query for minutes).
     */
    const readWithin = (after: number, limit = STREAM_PAGE): Promise<RevocationFeedPage> =>
      within(services.getRevocations.execute({ after, limit }).then(unwrap), readTimeoutMs);

    /**
     * The page as a start at the head: the state as read, no changes. The per-user changes of the
     * window are the catch-up page's business (a verifier reads it first, then resumes from its seq).
     */
    const atHead = (page: RevocationFeedPage): RevocationFeedPage => ({
      ...page,
      changes: [],
      lastSeq: page.headSeq,
      hasMore: false,
    });

    function openStream(
      request: FastifyRequest,
      reply: FastifyReply,
      after: number,
      first: RevocationFeedPage,
    ): void {
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
      let head = first.headSeq;
      let closed = false;
      /** The read in progress (one at a time), and whether a wake-up asked for one more after it. */
      let running: Promise<void> | null = null;
      let again = false;
      let failedReads = 0;
      let retry: NodeJS.Timeout | undefined;

      const send = (text: string) => {
        if (closed) return;
        raw.write(text);
        // A client that stopped reading: end rather than buffer; it resumes with Last-Event-ID.
        if (raw.writableLength > MAX_BUFFERED_BYTES) end('client not reading');
      };
      const sendPage = (page: RevocationFeedPage) => {
        for (const change of page.changes) {
          send(`id: ${change.seq}\nevent: ${change.kind}\ndata: ${JSON.stringify(changeJson(change))}\n\n`);
        }
        cursor = page.lastSeq;
        head = page.headSeq;
      };
      const drain = async () => {
        for (;;) {
          const page = unwrap(await services.getRevocations.execute({ after: cursor, limit: STREAM_PAGE }));
          if (closed) return;
          sendPage(page);
          if (!page.hasMore) return;
        }
      };
      /** Reads the log up to its head, at most `readTimeoutMs`; a wake-up during a read runs one more after it. */
      const pump = async (): Promise<void> => {
        if (running !== null) {
          again = true;
        } else {
          running = (async () => {
            try {
              do {
                again = false;
                await drain();
              } while (again && !closed);
            } finally {
              running = null;
            }
          })();
        }
        await within(running, readTimeoutMs);
      };
      // A heartbeat proves a read that just succeeded: the head it saw, and when (a
      // verifier judges freshness by these, never by bytes arriving). A failed read sends none;
      // one failure is retried once, the second in a row ends the stream.
      const beat = async () => {
        if (closed) return;
        if (exp !== undefined && exp * 1000 <= now()) return end('token expired');
        if (!(await stillAuthorised())) return end('credentials no longer valid');
        try {
          await pump();
        } catch (error) {
          failedReads++;
          if (closed) return;
          if (failedReads >= MAX_FAILED_READS) {
            request.log.warn({ err: String(error) }, 'revocation stream ended: the log cannot be read');
            return end('log unreadable');
          }
          clearTimeout(retry);
          retry = setTimeout(() => void beat(), RETRY_DELAY_MS);
          return;
        }
        failedReads = 0;
        send(
          `event: heartbeat\ndata: ${JSON.stringify({ lastSeq: head, readAt: new Date().toISOString() })}\n\n`,
        );
      };

      // Who opened it: a revoked service client, or an expired token, must not go on hearing the feed.
      const clientId = request.serviceClient?.clientId;
      const exp = request.serviceClient?.tokenExp ?? request.principal?.claims.exp;
      const bearer = request.principal === null ? null : (request.headers.authorization ?? null);
      /** An admin's token, checked again each heartbeat: disabled, demoted, rotated or logged out ends it. */
      const stillAuthorised = async (): Promise<boolean> => {
        if (bearer === null) return true;
        const match = /^Bearer (.+)$/.exec(bearer);
        if (match === null) return false;
        try {
          const result = await within(
            services.authenticateAccessToken.execute(match[1] as string),
            readTimeoutMs,
          );
          return result.ok && result.value.role === 'admin';
        } catch {
          // The database failing or hanging is the log read's business (it ends the stream).
          return true;
        }
      };

      const unsubscribe = deps.onRevocationChange?.(() => void pump().catch(() => {})) ?? (() => {});
      const unsubscribeRevoked =
        clientId === undefined
          ? () => {}
          : (deps.onServiceClientRevoked?.((revoked) => {
              if (revoked === clientId) end('service client revoked');
            }) ?? (() => {}));
      const expiry =
        exp === undefined
          ? undefined
          : // Checked at each heartbeat too (by the application's clock); this ends it on the dot.
            setTimeout(() => end('token expired'), Math.min(MAX_TIMER_MS, Math.max(0, exp * 1000 - now())));
      // The heartbeat is also the safety net: a wake-up lost between instances is read here.
      const heartbeat = setInterval(() => void beat(), feed.heartbeatSeconds * 1000);
      const end = (why: string) => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(retry);
        clearTimeout(expiry);
        unsubscribe();
        unsubscribeRevoked();
        streams.delete(stream);
        request.log.debug({ why }, 'revocation stream ended');
        if (raw.destroyed) return;
        raw.end();
        // Closed when written out: a client gone silently would otherwise hold the server's close.
        raw.socket?.destroySoon();
      };
      const stream = { end, owner: streamOwner(request) };
      streams.add(stream);
      raw.on('close', () => end('client gone'));

      const readAt = new Date().toISOString();
      send(
        `event: state\ndata: ${JSON.stringify({
          ...stateJson(first),
          accessTokenTtlSeconds: first.accessTokenTtlSeconds,
          lastSeq: first.headSeq,
          readAt,
        })}\n\n`,
      );
      sendPage(first);
      // The first page was one page: the rest of the backlog, then the first heartbeat at once.
      if (first.hasMore) void beat();
      else send(`event: heartbeat\ndata: ${JSON.stringify({ lastSeq: head, readAt })}\n\n`);
    }
  };
