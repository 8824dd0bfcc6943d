/** What one instance tells the others after a committed change. */
export type InvalidationMessage =
  | { readonly kind: 'global' }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'session'; readonly sessionId: string }
  | { readonly kind: 'user-sessions'; readonly userId: string }
  | { readonly kind: 'keys' }
  | { readonly kind: 'service-client'; readonly clientId: string };

interface Wire {
  /** Format version. */
  readonly v: 1;
  /** The sending instance, so it can skip its own echo (it already applied the change). */
  readonly o: string;
  readonly k: InvalidationMessage['kind'];
  readonly id?: string;
}

/** A few dozen bytes of JSON: well under NOTIFY's 8000-byte payload limit. */
export function encodeInvalidation(origin: string, message: InvalidationMessage): string {
  const wire: Wire =
    message.kind === 'user' || message.kind === 'user-sessions'
      ? { v: 1, o: origin, k: message.kind, id: message.userId }
      : message.kind === 'session'
        ? { v: 1, o: origin, k: message.kind, id: message.sessionId }
        : message.kind === 'service-client'
          ? { v: 1, o: origin, k: message.kind, id: message.clientId }
          : { v: 1, o: origin, k: message.kind };
  return JSON.stringify(wire);
}

/** The message and its origin, or null for anything malformed (ignored, never thrown). */
export function decodeInvalidation(
  payload: string,
): { readonly origin: string; readonly message: InvalidationMessage } | null {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(payload) as Partial<Wire>;
  } catch {
    return null;
  }
  if (wire === null || typeof wire !== 'object' || wire.v !== 1 || typeof wire.o !== 'string') return null;
  const origin = wire.o;
  const id = typeof wire.id === 'string' && wire.id.length > 0 ? wire.id : undefined;
  switch (wire.k) {
    case 'global':
    case 'keys':
      return { origin, message: { kind: wire.k } };
    case 'user':
    case 'user-sessions':
      return id === undefined ? null : { origin, message: { kind: wire.k, userId: id } };
    case 'session':
      return id === undefined ? null : { origin, message: { kind: 'session', sessionId: id } };
    case 'service-client':
      return id === undefined ? null : { origin, message: { kind: 'service-client', clientId: id } };
    default:
      return null;
  }
}
