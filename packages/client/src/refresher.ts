import { notSignedIn, problemOf, TokenwardenClientError } from './errors.js';
import { refreshRefusal } from './events.js';
import type { StoredTokens } from './storage.js';
import type { TokenKeeper, TokenPair } from './token-keeper.js';

/**
 * Refreshes the stored tokens; `stale` is the pair the caller found expiring (null to
 * refresh regardless).
 */
export type Refresh = (stale: StoredTokens | null) => Promise<StoredTokens>;

/**
 * Single flight: the first caller sends `POST /api/v1/tokens`, everyone else awaits the
 * same promise. A refusal for good signs out; a transient failure keeps the tokens.
 */
export function createRefresher(options: {
  readonly keeper: TokenKeeper;
  /** Posts JSON to a server path, without a bearer token. */
  readonly postJson: (path: string, body: unknown) => Promise<Response>;
}): Refresh {
  const { keeper, postJson } = options;
  let inflight: Promise<StoredTokens> | null = null;
  return (stale) => {
    if (inflight !== null) return inflight;
    inflight = (async () => {
      const current = await keeper.get();
      if (current === null) throw notSignedIn();
      // Another caller (or tab, with shared storage) refreshed since `stale` was read.
      if (stale !== null && current.accessToken !== stale.accessToken && !keeper.expiring(current))
        return current;
      const res = await postJson('/api/v1/tokens', { refreshToken: current.refreshToken });
      if (res.ok) return keeper.save((await res.json()) as TokenPair);
      const error = new TokenwardenClientError(await problemOf(res));
      const reason = refreshRefusal(error.problem);
      // Transient failures (network, 429, 5xx) keep the tokens: a later call may refresh.
      if (reason !== null) await keeper.signOut(reason, error);
      throw error;
    })().finally(() => {
      inflight = null;
    });
    return inflight;
  };
}
