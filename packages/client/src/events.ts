import type { ClientProblem, TokenwardenClientError } from './errors.js';
import type { StoredTokens } from './storage.js';

/**
 * Why the client dropped its tokens:
 *
 * - `global_rotation`, `user_rotation`: the server answered `token_rotated` (every token in the
 *   system, or every token of this user, was rotated: a breach response, a password change, a
 *   log out everywhere);
 * - `token_reused`: the refresh token had already been used, so the server revoked the session
 *   (a copy of it may have been stolen);
 * - `token_revoked`: the session was revoked (logged out from another device, or by an admin),
 *   or the user was disabled or deleted;
 * - `session_expired`: the refresh was refused as `token_expired` or `token_invalid` (the refresh
 *   token or the session reached its lifetime, or the server does not know the token);
 * - `logout`: {@link TokenwardenClient.logout} or {@link TokenwardenClient.logoutEverywhere}.
 */
export type SignOutReason =
  | 'global_rotation'
  | 'user_rotation'
  | 'token_reused'
  | 'token_revoked'
  | 'session_expired'
  | 'logout';

/**
 * What `signedOut` listeners get. By then the tokens are cleared and later calls reject with
 * `not_signed_in` without a request: show the login.
 */
export interface SignedOutEvent {
  /** Why the tokens were dropped. */
  readonly reason: SignOutReason;
  /** The server's refusal that caused it (absent for `logout`). */
  readonly error?: TokenwardenClientError;
}

/** The events a client emits, by name. */
export interface ClientEvents {
  /** The stored tokens were cleared: by `logout`, or because the server refused them for good. */
  readonly signedOut: SignedOutEvent;
  /** New tokens were stored: after login, a refresh or a password change. */
  readonly tokens: StoredTokens;
}

/** Emits the client's events to the listeners `on` added. */
export interface ClientEventEmitter {
  emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void;
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
}

/** Listeners by event; a listener that throws does not stop the others nor the caller. */
export function createEventEmitter(): ClientEventEmitter {
  const listeners: { [E in keyof ClientEvents]: Set<(payload: ClientEvents[E]) => void> } = {
    signedOut: new Set(),
    tokens: new Set(),
  };
  return {
    emit(event, payload) {
      for (const listener of [...listeners[event]]) {
        try {
          listener(payload);
        } catch {
          // A listener's bug must not break the request that triggered it.
        }
      }
    },
    on(event, listener) {
      listeners[event].add(listener);
      return () => {
        listeners[event].delete(listener);
      };
    },
  };
}

/** The sign-out a refused refresh means; null when the refusal is not for good. */
export function refreshRefusal(problem: ClientProblem): SignOutReason | null {
  switch (problem.code) {
    case 'token_rotated':
      return problem.rejection ?? 'global_rotation';
    case 'token_reused':
      return 'token_reused';
    case 'token_revoked':
      return 'token_revoked';
    case 'token_expired':
    case 'token_invalid':
      return 'session_expired';
    default:
      return null;
  }
}

/** The sign-out a refused access token means; null when a refresh may still help. */
export function accessRefusal(problem: ClientProblem): SignOutReason | null {
  if (problem.code === 'token_expired' || problem.code === 'token_invalid') return null;
  return refreshRefusal(problem);
}
