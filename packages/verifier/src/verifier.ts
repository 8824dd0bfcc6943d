import { KeyObject, type webcrypto } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CompactJws, issuanceRefusal, parseCompactJws, verifyJws } from '@tokenwarden/jws';
import { createRemoteJWKSet, type JWTPayload } from 'jose';
import { type FeedChange, type FeedRegression, FeedState, type FeedStateSnapshot } from './feed-state.js';

export type { FeedRegression } from './feed-state.js';

/**
 * The claims of a tokenwarden access token that verified: what was true when it was issued
 * (the verifier looks nothing up). Other claims the token carries (`aud`, ...) are there too.
 */
export interface AccessTokenClaims extends JWTPayload {
  /** The issuer (tokenwarden's `TOKENWARDEN_ISSUER`); checked only when {@link VerifierOptions.issuer} is set. */
  readonly iss: string;
  /** The user's id (a UUID). */
  readonly sub: string;
  /** The session's id (a UUID): the login the token belongs to. */
  readonly sid: string;
  /** The token's own id. */
  readonly jti: string;
  /** When the token was issued, in epoch seconds. */
  readonly iat: number;
  /** When the token expires, in epoch seconds (`iat` + the access-token TTL at most). */
  readonly exp: number;
  /**
   * The user's role when the token was issued (`user` or `admin`): a snapshot, not looked up.
   * A promotion rotates the user's tokens, so a new role comes with new tokens.
   */
  readonly role: string;
  /** The user's token version the token was stamped with: refused once a user rotation raised it. */
  readonly ver: number;
  /** The global token version the token was stamped with: refused once a global rotation raised it (after its grace). */
  readonly gver: number;
}

/**
 * Why a token was refused: the server's codes, plus the verifier's own `feed_stale`.
 *
 * - `token_invalid`: not a tokenwarden access token for this audience (bad signature, unknown
 *   key, wrong `typ`, `aud` or `iss`, claims missing), or one tokenwarden could not have issued
 *   (dated more than 30 s ahead, or outliving the access-token TTL);
 * - `token_expired`: past its `exp`;
 * - `token_revoked`: its session was revoked, its user disabled, or its signing key retired;
 * - `token_rotated`: a user or global rotation invalidated it (see `rejection`);
 * - `feed_stale`: not judged, because the revocation feed is not current (fail closed), or the
 *   token carries a version the feed has not shown yet (right after a rotation: retry).
 */
export type VerifyErrorCode =
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'token_rotated'
  | 'feed_stale';

/**
 * What {@link Verifier.verify} answers: the claims of an accepted token, or why it was refused.
 *
 * @example
 * const result = await verifier.verify(token);
 * if (result.ok) console.log(result.claims.sub);
 * else console.log(result.code, result.rejection, result.message);
 */
export type VerifyResult =
  | {
      /** The token is accepted. */
      readonly ok: true;
      /** Its verified claims. */
      readonly claims: AccessTokenClaims;
    }
  | {
      /** The token is refused. */
      readonly ok: false;
      /** Why, as a stable code (a middleware answers it as the problem's `code`). */
      readonly code: VerifyErrorCode;
      /** On `token_rotated`: which rotation refused it. */
      readonly rejection?: 'global_rotation' | 'user_rotation';
      /** Why, for people (a middleware answers it as the problem's `detail`). */
      readonly message: string;
    };

/**
 * What {@link createVerifier} takes: where tokenwarden is, the audience, and a service client's
 * credentials; the rest have defaults.
 *
 * @example
 * const options: VerifierOptions = {
 *   baseUrl: 'https://auth.example.com',
 *   audience: 'tokenwarden',
 *   issuer: 'https://auth.example.com',
 *   clientId: process.env.TW_CLIENT_ID!,
 *   clientSecret: process.env.TW_CLIENT_SECRET!,
 *   maxStalenessSeconds: 30, // the default
 *   readyTimeoutSeconds: 10, // the default
 *   onStale: 'refuse', // the default
 *   onStatusChange: ({ fresh, reason }) => log.warn({ fresh, reason }, 'tokenwarden feed'),
 * };
 */
export interface VerifierOptions {
  /** tokenwarden's address, e.g. `https://auth.example.com` (the API is under `/api/v1`). */
  readonly baseUrl: string;
  /** The `aud` tokens must carry: tokenwarden's `TOKENWARDEN_AUDIENCE` (by default `tokenwarden`). */
  readonly audience: string;
  /**
   * The `iss` tokens must carry (tokenwarden's `TOKENWARDEN_ISSUER`, its metadata's `issuer`).
   * When left out, `iss` is not checked: the audience and the key still are.
   */
  readonly issuer?: string;
  /**
   * A service client's id (`tokenwarden clients create`), sent with `clientSecret` as HTTP
   * Basic credentials to the revocation feed (and to introspection).
   */
  readonly clientId: string;
  /** The service client's secret, printed once by `tokenwarden clients create`. Keep it out of logs. */
  readonly clientSecret: string;
  /**
   * With no proof of a successful read of the server's log for this long (a heartbeat whose
   * `readAt` moved on, a `state`, a catch-up page), or with the server's head (a heartbeat's
   * `lastSeq`) ahead of what was applied for this long, tokens are refused. In seconds;
   * default 30. The stream is also dropped and reopened then.
   */
  readonly maxStalenessSeconds?: number;
  /**
   * Told when the feed shows less than the verifier holds: a lower global or user version, or
   * a log head below the seq applied (a restored or failed-over database). The verifier keeps
   * the higher versions and what it revoked, reads the window again, and goes on. Errors it
   * throws are ignored. {@link Verifier.status} counts them too.
   */
  readonly onRegression?: (regression: FeedRegression) => void;
  /**
   * What a stale feed does: `refuse` (the default: fail closed, `feed_stale`), or `introspect`:
   * ask tokenwarden's `POST /oauth/introspect` per request (with the same client credentials)
   * until the feed is back, still refusing when that cannot be asked (an error, a non-2xx
   * answer, or no answer within 5 s). The signature, `exp`, the issuer's date and lifetime
   * bounds and the retired keys are still checked first.
   */
  readonly onStale?: 'refuse' | 'introspect';
  /**
   * `ready()` rejects when the feed has not caught up within this many seconds (counted from
   * each call), with the last failure as its `cause`; the verifier goes on trying. Default 10.
   *
   * @example
   * const verifier = createVerifier({ ...options, readyTimeoutSeconds: 5 });
   * await verifier.ready().catch((error) => log.warn({ cause: error.cause }, error.message)); // serve anyway: feed_stale until caught up
   */
  readonly readyTimeoutSeconds?: number;
  /**
   * Told when the verifier becomes fresh (caught up, tokens judged) or stale (tokens refused
   * with `feed_stale`, or introspected), with why. Noticed within a quarter of
   * `maxStalenessSeconds` (at most 5 s). Errors it throws are ignored. It starts stale and is
   * not told so: the first call is the first `fresh: true`.
   *
   * @example
   * const verifier = createVerifier({
   *   ...options,
   *   onStatusChange: ({ fresh, reason, status }) =>
   *     fresh ? log.info('tokenwarden feed caught up') : log.warn({ reason, lastSeq: status.lastSeq }, 'feed stale'),
   * });
   */
  readonly onStatusChange?: (change: VerifierStatusChange) => void;
  /**
   * How many tokens' signature checks are remembered (the oldest is forgotten first); the
   * feed's state is still checked on every call. Default 10 000.
   */
  readonly cacheSize?: number;
  /**
   * The fetch for the feed and introspection (tests, proxies, custom agents). Default the
   * global `fetch`. The JWKS is fetched by `jose`, not through it.
   */
  readonly fetch?: typeof fetch;
  /**
   * The verifier's clock in epoch milliseconds, for `exp`/`nbf`, the grace window and the
   * feed's staleness. Default `Date.now`; tests move it instead of sleeping.
   */
  readonly now?: () => number;
}

/**
 * The verifier's view of the revocation feed, from {@link Verifier.status} (and in each
 * {@link VerifierStatusChange}).
 */
export interface VerifierStatus {
  /** The feed is caught up, proved a read within `maxStalenessSeconds` and is not behind for longer. */
  readonly fresh: boolean;
  /** Whether the event stream is open now. */
  readonly connected: boolean;
  /** The sequence number of the feed's log read through: every change up to it is applied. */
  readonly lastSeq: number;
  /** The server's head as its last heartbeat (or state, or page) read it; null before the first. */
  readonly headSeq: number | null;
  /** Milliseconds since the last proof of a read (heartbeat, state, catch-up; null before the first). */
  readonly msSinceLastEvent: number | null;
  /** The last regression the feed showed (see `onRegression`); null when none so far. */
  readonly regression: FeedRegression | null;
  /** How many regressions the feed has shown since the verifier was created. */
  readonly regressions: number;
  /**
   * The last feed failure, e.g. `feed refused the client credentials (401)` for wrong client
   * credentials; null before the first. It stays after the feed recovers: `fresh` says whether it did.
   */
  readonly lastError: string | null;
}

/** What `onStatusChange` is told. */
export interface VerifierStatusChange {
  /** The new state: true when tokens are judged again, false when they are refused with `feed_stale` (or introspected). */
  readonly fresh: boolean;
  /** Why, e.g. `caught up with the feed`, or the last feed failure when it went stale. */
  readonly reason: string;
  /** The whole status at the change. */
  readonly status: VerifierStatus;
}

/** A verifier made by {@link createVerifier}. */
export interface Verifier {
  /**
   * Judges an access token: the signature through the JWKS (EdDSA or ES256, `typ: at+jwt`, the audience,
   * the issuer when set), `exp`/`nbf` by the verifier's clock, the issuer's bounds, then the
   * revocation feed's state (rotations, revoked sessions, disabled users, retired keys). Never
   * rejects: a refusal is a result.
   *
   * @param token - The bare token, without `Bearer `.
   * @returns `{ ok: true, claims }`, or `{ ok: false, code, rejection?, message }`; `feed_stale`
   *   whenever the feed is not current (unless `onStale: 'introspect'`).
   *
   * @example
   * const result = await verifier.verify(token);
   * if (!result.ok) return reply.code(401).send({ code: result.code });
   */
  verify(token: string): Promise<VerifyResult>;
  /**
   * Resolves once the feed is caught up; rejects when the feed refuses the client's credentials,
   * or when it has not caught up within `readyTimeoutSeconds` (the cause attached). Once it has
   * caught up, later calls resolve at once. While the feed's last answer is a refusal of the
   * credentials, a call rejects at once; the verifier keeps trying meanwhile (the client may be
   * registered, or its secret fixed, on the server later), and once the feed accepts, calls
   * resolve. After a timeout, a later call waits again.
   *
   * @example
   * await verifier.ready(); // before app.listen()
   */
  ready(): Promise<void>;
  /** Stops following the feed (the stream, the reconnects, the watchdog); resolves once stopped. */
  close(): Promise<void>;
  /** The feed's state now: whether tokens are judged (`fresh`), and why not. */
  status(): VerifierStatus;
}

interface Memo {
  readonly claims: AccessTokenClaims;
  readonly kid: string;
}

const MAX_BACKOFF_MS = 5_000;
/** A catch-up page that takes longer than this is given up and tried again. */
const CATCH_UP_TIMEOUT_MS = 10_000;
/** One introspection request while the feed is stale: past this, the token is refused. */
const INTROSPECTION_TIMEOUT_MS = 5_000;

class FeedAuthError extends Error {}

/** An error's message with its cause's (fetch says only `fetch failed`; the cause says why). */
const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined || cause === '' ? error.message : `${error.message}: ${cause}`;
};

const fail = (code: VerifyErrorCode, message: string): VerifyResult => ({ ok: false, code, message });

/**
 * A verifier for tokenwarden's access tokens that honours rotations and revocations at once:
 * the JWT is checked through the JWKS (EdDSA or ES256, `typ: at+jwt`, audience), then held against
 * the revocation feed it follows over Server-Sent Events with the service client's credentials.
 * When no heartbeat has proved a successful read of the server's log for `maxStalenessSeconds`
 * (bytes arriving prove nothing), or the server's head has been ahead of what was applied that
 * long, every token is refused with `feed_stale` (fail closed) until the feed is back and
 * caught up. Versions never go down: a restored log is reported (`onRegression`), not believed.
 *
 * It starts following the feed at once: call {@link Verifier.ready} before serving (or let
 * `feed_stale` answer until it catches up), and {@link Verifier.close} on shutdown.
 *
 * @param options - Where tokenwarden is, the audience and the service client's credentials;
 *   the freshness bound, the fallback and the callbacks.
 * @returns The verifier, already connecting.
 *
 * @example
 * const verifier = createVerifier({
 *   baseUrl: 'https://auth.example.com',
 *   audience: 'tokenwarden', // TOKENWARDEN_AUDIENCE (its default)
 *   clientId: process.env.TW_CLIENT_ID!,
 *   clientSecret: process.env.TW_CLIENT_SECRET!,
 * });
 * await verifier.ready();
 * const result = await verifier.verify(bearerToken);
 * if (!result.ok) console.log(result.code); // 'token_rotated', 'token_revoked', …
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const staleMs = (options.maxStalenessSeconds ?? 30) * 1000;
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const readyTimeoutMs = (options.readyTimeoutSeconds ?? 10) * 1000;
  // Unknown kids refetch after 5 s at most (jose's default is 30 s); the feed's key events refetch at once.
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 5_000 });
  const authorization = `Basic ${Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64')}`;
  let regression: FeedRegression | null = null;
  let regressions = 0;
  const state = new FeedState(now, (seen) => {
    regression = seen;
    regressions++;
    try {
      options.onRegression?.(seen);
    } catch {
      // The caller's callback must not stop the feed.
    }
  });
  const memo = new Map<string, Memo>();
  // jose fetches and caches the JWKS and picks the key; the signature is checked with a
  // KeyObject made once per key, synchronously (WebCrypto hopped to the thread pool).
  const keyObjects = new WeakMap<object, KeyObject>();
  const publicKeyFor = async (jws: CompactJws): Promise<KeyObject> => {
    const cryptoKey = await jwks({ alg: jws.algorithm.name, kid: jws.kid }, { payload: '', signature: '' });
    let key = keyObjects.get(cryptoKey);
    if (key === undefined) {
      key = KeyObject.from(cryptoKey as webcrypto.CryptoKey);
      keyObjects.set(cryptoKey, key);
    }
    return key;
  };

  let closed = false;
  let connected = false;
  let caughtUp = false;
  /** When (by this clock) the server last proved a successful read of its log. */
  let lastEventAt: number | null = null;
  /** The server's `readAt` of the last proof on this connection: a heartbeat must move it on. */
  let lastReadAt: number | null = null;
  let headSeq: number | null = null;
  /** Since when the server's head has been ahead of what is applied (null: it is not). */
  let behindSince: number | null = null;
  let lastError: string | null = null;
  /** The last feed failure itself, for `ready()`'s rejection. */
  let lastCause: unknown = null;
  /** What `onStatusChange` was last told (it starts stale, and is told nothing until it changes). */
  let reportedFresh = false;
  let abort: AbortController | null = null;
  const closing = new AbortController();
  /** Whether the feed has been caught up once: `ready()` resolves at once from then on. */
  let everCaughtUp = false;
  /** The refusal of the credentials that was the feed's last answer (null: it was not one). */
  let refusal: FeedAuthError | null = null;
  /** The `ready()` calls waiting for the first catch-up or a refusal. */
  const readyWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();

  const heard = () => {
    lastEventAt = now();
  };
  /** The server's head as it read it: ahead of what is applied starts the clock; below, the log went back. */
  const noteHead = (head: number): boolean => {
    headSeq = head;
    if (state.noteHead(head)) {
      behindSince = null;
      return true;
    }
    if (head <= state.lastSeq) behindSince = null;
    else behindSince ??= now();
    return false;
  };
  /** The feed is caught up and proved a read lately: the connection is sound. */
  const feedFresh = () => {
    if (!caughtUp || lastEventAt === null) return false;
    const at = now();
    if (at - lastEventAt > staleMs) return false;
    return behindSince === null || at - behindSince <= staleMs;
  };
  /** Tokens are judged: the feed is fresh and no change of an unknown kind is inside the window. */
  const isFresh = () => feedFresh() && !state.blind(now());

  const staleReason = (): string => {
    if (state.blind(now()) && state.unknownKind !== null && feedFresh()) {
      const { kind, seq } = state.unknownKind;
      return `a change of a kind this verifier does not know (${kind}, seq ${seq}): tokens are refused until ${new Date(state.blindUntil ?? 0).toISOString()}`;
    }
    if (!connected && lastError !== null) return lastError;
    if (!caughtUp) return 'not caught up with the feed';
    if (behindSince !== null && now() - behindSince > staleMs) {
      return `the server's head has been ahead of what was applied for over ${staleMs / 1000} s`;
    }
    return `no proof of a read of the server's log for over ${staleMs / 1000} s`;
  };
  /** Tells `onStatusChange` when freshness changed since it was last told. */
  const observe = () => {
    const fresh = isFresh();
    if (fresh === reportedFresh || closed) return;
    reportedFresh = fresh;
    try {
      options.onStatusChange?.({
        fresh,
        reason: fresh ? 'caught up with the feed' : staleReason(),
        status: status(),
      });
    } catch {
      // The caller's callback must not stop the feed.
    }
  };

  const watchdog = setInterval(
    () => {
      observe();
      state.prune(now());
      // A stream that proved no read within the bound is dead, hung or stuck: drop it, the loop
      // reconnects and catches up. (An unknown kind of change is no fault of the connection.)
      if (connected && !feedFresh()) {
        lastError = staleReason();
        caughtUp = false;
        abort?.abort();
      }
    },
    Math.max(250, Math.min(staleMs / 4, 5_000)),
  );
  watchdog.unref();

  async function catchUp(signal: AbortSignal): Promise<void> {
    for (;;) {
      const res = await doFetch(`${base}/api/v1/revocations?after=${state.lastSeq}&limit=1000`, {
        headers: { authorization, accept: 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(CATCH_UP_TIMEOUT_MS)]),
      });
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new FeedAuthError(`feed refused the client credentials (${res.status})`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`feed catch-up answered ${res.status}`);
      }
      const page = (await res.json()) as {
        state: FeedStateSnapshot;
        changes: FeedChange[];
        lastSeq: number;
        hasMore: boolean;
        headSeq?: number;
        accessTokenTtlSeconds: number;
      };
      state.applyState({ ...page.state, accessTokenTtlSeconds: page.accessTokenTtlSeconds });
      // The log went back: read the window again from 0, merged into what is held.
      if (typeof page.headSeq === 'number' && noteHead(page.headSeq)) continue;
      for (const change of page.changes) applyChange(change);
      // Changes older than the window are left out: the page's lastSeq is read through all the same.
      state.readThrough(page.lastSeq);
      if (typeof page.headSeq === 'number') noteHead(page.headSeq);
      if (!page.hasMore) {
        heard();
        return;
      }
    }
  }

  /**
   * Bytes arriving prove nothing: a heartbeat counts only with a `readAt` later than the last
   * (the server read its log again), and its `lastSeq` (the head it read) must not be ahead of
   * what is applied for long. Returns false when the log went back and the stream must restart.
   */
  function onEvent(event: string, data: string): boolean {
    if (data === '') return true;
    const parsed = JSON.parse(data) as Record<string, unknown>;
    if (event === 'heartbeat' || event === 'state') {
      const readAt = typeof parsed.readAt === 'string' ? Date.parse(parsed.readAt) : Number.NaN;
      if (event === 'state') state.applyState(parsed as unknown as FeedStateSnapshot);
      if (!Number.isNaN(readAt) && (lastReadAt === null || readAt > lastReadAt)) {
        lastReadAt = readAt;
        heard();
      }
      if (typeof parsed.lastSeq === 'number' && Number.isSafeInteger(parsed.lastSeq)) {
        return !noteHead(parsed.lastSeq);
      }
      return true;
    }
    // A change carries its seq; an event that does not is not one (a newer server may send
    // other events): nothing to apply, and the cursor stays where it is.
    if (!Number.isSafeInteger(parsed.seq) || typeof parsed.kind !== 'string') return true;
    applyChange(parsed as unknown as FeedChange);
    return true;
  }

  function applyChange(change: FeedChange): void {
    state.applyChange(change);
    // A new signing key: fetch the JWKS now, not after the unknown-kid cooldown (30 s).
    if (change.kind === 'signing_key_rotated' || change.kind === 'signing_key_retired') {
      jwks.reload().catch(() => {});
    }
  }

  async function stream(signal: AbortSignal, controller: AbortController): Promise<void> {
    // A server that never answers (its guard waiting on a database that went away) must not
    // hold the loop: past the bound the attempt is dropped and tried again.
    const connecting = setTimeout(() => controller.abort(), CATCH_UP_TIMEOUT_MS);
    let res: Response;
    try {
      res = await doFetch(`${base}/api/v1/revocations/stream`, {
        headers: { authorization, accept: 'text/event-stream', 'last-event-id': String(state.lastSeq) },
        signal,
      });
    } finally {
      clearTimeout(connecting);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new FeedAuthError(`feed refused the client credentials (${res.status})`);
    }
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new Error(`feed stream answered ${res.status}`);
    }
    connected = true;
    caughtUp = true;
    lastReadAt = null;
    everCaughtUp = true;
    refusal = null;
    for (const waiter of readyWaiters) waiter.resolve();
    observe();
    await readEvents(res.body, onEvent);
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      abort = new AbortController();
      try {
        await catchUp(abort.signal);
        await stream(abort.signal, abort);
        attempt = 0;
        lastError = 'feed stream ended';
      } catch (error) {
        lastError = describe(error);
        lastCause = error;
        refusal = error instanceof FeedAuthError ? error : null;
        if (refusal !== null) for (const waiter of readyWaiters) waiter.reject(refusal);
      } finally {
        connected = false;
      }
      if (closed) return;
      observe();
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt = Math.min(attempt + 1, 10);
      await sleep(delay, undefined, { signal: closing.signal }).catch(() => {});
    }
  }
  const running = run();

  const remember = (token: string, entry: Memo) => {
    if (memo.size >= cacheSize) {
      const oldest = memo.keys().next();
      if (!oldest.done) memo.delete(oldest.value);
    }
    memo.set(token, entry);
  };

  /**
   * The issuer's bounds (the server's checkIssuance): `stamp` false leaves the versions out, for a
   * stale feed whose versions may be behind the issuer's (introspection judges them then).
   */
  const implausible = (claims: AccessTokenClaims, at: number, stamp: boolean): VerifyResult | null => {
    const held = stamp
      ? { userVersion: state.userMin.get(claims.sub)?.[0], globalVersion: state.globalMinTokenVersion }
      : { userVersion: undefined, globalVersion: Number.POSITIVE_INFINITY };
    switch (issuanceRefusal(claims, held, state.ttlSeconds, at / 1000)) {
      case null:
        return null;
      case 'issued_in_future':
        return fail('token_invalid', 'The token is dated ahead of the issuer by more than the allowed skew');
      case 'lifetime_exceeds_ttl':
        return fail('token_invalid', 'The token outlives the access-token TTL its issuer uses');
      case 'stamp_above_current':
        // Right after a rotation the token may be ahead of the feed for well under a second; a
        // token minted with a stolen key stays ahead for good. Either way it is not judged yet.
        return fail('feed_stale', 'The token carries a version the revocation feed has not shown yet');
    }
  };

  const judge = (entry: Memo, at: number): VerifyResult => {
    // The order of docs/FEED.md §7, a remembered token's as a new one's: a retired kid before `exp`.
    if (state.retiredKids.has(entry.kid)) {
      return fail('token_revoked', 'The signing key of this token has been retired');
    }
    if (entry.claims.exp * 1000 <= at) return fail('token_expired', 'The token has expired');
    const refusal = implausible(entry.claims, at, true);
    if (refusal !== null) return refusal;
    const refused = state.check(entry.claims, entry.kid, at);
    if (refused !== null) return { ok: false, ...refused };
    return { ok: true, claims: entry.claims };
  };

  /**
   * RFC 7662 introspection, for a token whose signature and claims already passed, while the
   * feed is stale: the server judges it with its own state. Anything but a clear `active: true`
   * (an error, a timeout, an odd answer) refuses it: the fallback fails closed too.
   */
  async function introspect(entry: Memo, token: string): Promise<VerifyResult> {
    try {
      const res = await doFetch(`${base}/oauth/introspect`, {
        method: 'POST',
        headers: {
          authorization,
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS)]),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return fail('feed_stale', `The feed is not current and introspection answered ${res.status}`);
      }
      const answer = (await res.json()) as { active?: unknown; sid?: unknown; sub?: unknown };
      if (answer.active !== true) {
        return fail('token_revoked', 'The token is no longer active (introspection)');
      }
      if (answer.sid !== entry.claims.sid || answer.sub !== entry.claims.sub) {
        return fail('token_invalid', 'Introspection describes another token');
      }
      return { ok: true, claims: entry.claims };
    } catch {
      return fail('feed_stale', 'The feed is not current and introspection could not be reached');
    }
  }

  async function verify(token: string): Promise<VerifyResult> {
    if (!isFresh()) {
      if (options.onStale !== 'introspect') {
        return fail('feed_stale', 'The revocation feed is not current: tokens are refused until it is back');
      }
      const checked = memo.get(token) ?? (await checkSignature(token));
      if (!('kid' in checked)) return checked;
      if (checked.claims.exp * 1000 <= now()) return fail('token_expired', 'The token has expired');
      const refusal = implausible(checked.claims, now(), false);
      if (refusal !== null) return refusal;
      // The feed's retired keys still hold: they only grow, and a stale list is a subset.
      if (state.retiredKids.has(checked.kid)) {
        return fail('token_revoked', 'The signing key of this token has been retired');
      }
      return introspect(checked, token);
    }
    const seen = memo.get(token);
    if (seen !== undefined) return judge(seen, now());
    const checked = await checkSignature(token);
    if (!('kid' in checked)) return checked;
    return judge(checked, now());
  }

  /** Signature, header and claims through the JWKS; the result is remembered. */
  async function checkSignature(token: string): Promise<Memo | VerifyResult> {
    const jws = parseCompactJws(token);
    if (jws === undefined)
      return fail('token_invalid', 'The token is not an EdDSA or ES256 JWT naming its key');
    const { kid } = jws;
    // A key the feed says is retired is refused whatever the JWKS cache still holds.
    if (state.retiredKids.has(kid)) {
      return fail('token_revoked', 'The signing key of this token has been retired');
    }
    let key: KeyObject;
    try {
      key = await publicKeyFor(jws);
    } catch {
      return fail('token_invalid', 'The token could not be verified');
    }
    const check = verifyJws(jws, key, {
      typ: 'at+jwt',
      audience: options.audience,
      issuer: options.issuer,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'ver', 'gver'],
      now: Math.floor(now() / 1000),
    });
    if (!check.ok) {
      return check.reason === 'expired'
        ? fail('token_expired', 'The token has expired')
        : fail('token_invalid', 'The token could not be verified');
    }
    const payload: JWTPayload = check.claims;
    if (
      typeof payload.sid !== 'string' ||
      !Number.isSafeInteger(payload.ver) ||
      !Number.isSafeInteger(payload.gver)
    ) {
      return fail('token_invalid', 'The token lacks its session or version claims');
    }
    const entry: Memo = { claims: payload as AccessTokenClaims, kid };
    remember(token, entry);
    return entry;
  }

  function ready(): Promise<void> {
    if (everCaughtUp) return Promise.resolve();
    if (refusal !== null) return Promise.reject(refusal);
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          settle();
          resolve();
        },
        reject: (error: Error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const why = lastError ?? 'no answer yet';
        waiter.reject(
          new Error(`tokenwarden's feed was not caught up within ${readyTimeoutMs / 1000} s: ${why}`, {
            cause: lastCause ?? undefined,
          }),
        );
      }, readyTimeoutMs);
      timer.unref();
      const settle = () => {
        clearTimeout(timer);
        readyWaiters.delete(waiter);
      };
      readyWaiters.add(waiter);
    });
  }

  function status(): VerifierStatus {
    return {
      fresh: isFresh(),
      connected,
      lastSeq: state.lastSeq,
      headSeq,
      msSinceLastEvent: lastEventAt === null ? null : now() - lastEventAt,
      lastError,
      regression,
      regressions,
    };
  }

  return {
    verify,
    ready,
    status,
    async close() {
      closed = true;
      closing.abort();
      clearInterval(watchdog);
      abort?.abort();
      for (const waiter of readyWaiters)
        waiter.reject(new Error('the verifier was closed before it was ready'));
      await running;
    },
  };
}

/**
 * Reads a Server-Sent Events body (the `event:`, `data:` and `id:` lines; comments and
 * `retry:` are ignored) and calls `onEvent` per event, until the body ends or is aborted,
 * or `onEvent` answers false.
 */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        const width = buffer.startsWith('\r\n', newline) ? 2 : 1;
        buffer = buffer.slice(newline + width);
        if (line === '') {
          if ((data.length > 0 || event !== '') && !onEvent(event || 'message', data.join('\n'))) {
            await reader.cancel();
            return;
          }
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        newline = buffer.search(/\r\n|\r|\n/);
      }
    }
  } catch (error) {
    if (!(error instanceof Error && error.name === 'AbortError')) throw error;
  } finally {
    reader.releaseLock();
  }
}
