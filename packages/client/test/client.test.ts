import {
  createClient,
  localStorageStorage,
  memoryStorage,
  type StoredTokens,
  TokenwardenClientError,
} from '@tokenwarden/client';
import { describe, expect, it } from 'vitest';

const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  new Response(
    JSON.stringify({
      type: `urn:tokenwarden:problem:${code}`,
      title: code,
      status,
      detail: code,
      code,
      ...extra,
    }),
    {
      status,
      headers: { 'content-type': 'application/problem+json' },
    },
  );

const pair = (n: number) =>
  new Response(
    JSON.stringify({
      accessToken: `access-${n}`,
      refreshToken: `twr_refresh-${n}`,
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshExpiresIn: 1_209_600,
      sessionId: 'session-1',
    }),
    { status: 200, headers: { 'content-type': 'application/json' } },
  );

const tokens = (expiresAt: number): StoredTokens => ({
  accessToken: 'access-0',
  refreshToken: 'twr_refresh-0',
  accessTokenExpiresAt: expiresAt,
  sessionId: 'session-1',
});

/** A fake server: `handler` answers each request; every request is recorded. */
function fakeFetch(handler: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: { url: string; method: string; authorization: string | null }[] = [];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    calls.push({
      url,
      method: init.method ?? 'GET',
      authorization: new Headers(init.headers).get('authorization'),
    });
    return handler(url, init);
  };
  return { fetch, calls };
}

describe('client SDK (fake server)', () => {
  it('refreshes ahead of expiry by the configured skew', async () => {
    const { fetch, calls } = fakeFetch((url) =>
      url.endsWith('/api/v1/tokens') ? pair(1) : new Response('{}'),
    );
    const storage = memoryStorage(tokens(1_000_000 + 50_000));
    const client = createClient({
      baseUrl: 'http://x/',
      storage,
      refreshSkewSeconds: 60,
      fetch,
      now: () => 1_000_000,
    });
    await client.fetch('/api/v1/users/me');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://x/api/v1/tokens',
      'GET http://x/api/v1/users/me',
    ]);
    expect(calls[1]?.authorization).toBe('Bearer access-1');
    expect((await storage.get())?.accessTokenExpiresAt).toBe(1_000_000 + 900_000);
  });

  it('does not refresh a token outside the skew window', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{}'));
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(1_000_000 + 50_000)),
      refreshSkewSeconds: 30,
      fetch,
      now: () => 1_000_000,
    });
    await client.fetch('/api/v1/users/me');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.authorization).toBe('Bearer access-0');
  });

  it('retries only once: a second token_expired is returned, not refreshed again', async () => {
    let refreshes = 0;
    const { fetch, calls } = fakeFetch((url) => {
      if (url.endsWith('/tokens')) return pair(++refreshes);
      return problem(401, 'token_expired');
    });
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(Date.now() + 600_000)),
      fetch,
    });
    const res = await client.fetch('/api/v1/users/me');
    expect(res.status).toBe(401);
    expect(refreshes).toBe(1);
    expect(calls).toHaveLength(3);
    expect(await client.tokens()).not.toBeNull();
  });

  it.each([
    ['token_reused', {}, 'token_reused'],
    ['token_revoked', {}, 'token_revoked'],
    ['token_rotated', { rejection: 'user_rotation' }, 'user_rotation'],
    ['token_rotated', { rejection: 'global_rotation' }, 'global_rotation'],
    ['token_expired', {}, 'session_expired'],
  ])('a refresh refused with %s %o signs out with %s, once', async (code, extra, reason) => {
    const { fetch, calls } = fakeFetch(() => problem(401, code, extra));
    const storage = memoryStorage(tokens(0));
    const client = createClient({ baseUrl: 'http://x', storage, fetch });
    const reasons: string[] = [];
    client.on('signedOut', (e) => reasons.push(e.reason));
    const results = await Promise.allSettled([client.fetch('/a'), client.fetch('/b'), client.refresh()]);
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof TokenwardenClientError)).toBe(
      true,
    );
    expect(calls).toHaveLength(1);
    expect(reasons).toEqual([reason]);
    expect(await storage.get()).toBeNull();
  });

  it('keeps the tokens when the refresh fails for a transient reason (network, 503)', async () => {
    const storage = memoryStorage(tokens(0));
    const offline = createClient({
      baseUrl: 'http://x',
      storage,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(offline.fetch('/a')).rejects.toMatchObject({ code: 'network_error', status: 0 });
    const down = createClient({
      baseUrl: 'http://x',
      storage,
      fetch: async () => problem(503, 'service_unavailable'),
    });
    await expect(down.refresh()).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(await storage.get()).not.toBeNull();
  });

  it('turns a non-problem error body into http_<status>, and a problem into a typed error', async () => {
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(Date.now() + 600_000)),
      fetch: async (input) =>
        String(input).endsWith('/plain')
          ? new Response('oops', { status: 502 })
          : problem(404, 'user_not_found'),
    });
    await expect(client.request('/plain')).rejects.toMatchObject({ code: 'http_502', status: 502 });
    const error = await client.request('/api/v1/admin/users/x/sessions').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenwardenClientError);
    expect(error).toMatchObject({
      code: 'user_not_found',
      status: 404,
      problem: { detail: 'user_not_found' },
    });
  });

  it('builds query strings, leaving out empty values', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{"items":[]}'));
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(Date.now() + 600_000)),
      fetch,
    });
    await client.request('/api/v1/admin/audit', {
      query: { action: 'token_rotation.global', userId: '', limit: 20 },
    });
    expect(calls[0]?.url).toBe('http://x/api/v1/admin/audit?action=token_rotation.global&limit=20');
  });

  it('rejects not_signed_in without a request when there are no tokens', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{}'));
    const client = createClient({ baseUrl: 'http://x', fetch });
    await expect(client.fetch('/a')).rejects.toMatchObject({ code: 'not_signed_in' });
    expect(calls).toHaveLength(0);
  });

  it('a throwing listener does not break the call that emitted', async () => {
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(0)),
      fetch: async () => problem(401, 'token_reused'),
    });
    client.on('signedOut', () => {
      throw new Error('listener bug');
    });
    await expect(client.refresh()).rejects.toMatchObject({ code: 'token_reused' });
  });

  it("lists every session across the server's pages, and a page on request", async () => {
    const session = (id: string) => ({
      id,
      createdAt: 't',
      lastUsedAt: 't',
      userAgent: null,
      ip: null,
      current: false,
    });
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
    const { fetch, calls } = fakeFetch((url) =>
      new URL(url).searchParams.get('cursor') === 'c2'
        ? json({ items: [session('s3')], nextCursor: null })
        : json({ items: [session('s1'), session('s2')], nextCursor: 'c2' }),
    );
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(9e15)),
      fetch,
      now: () => 0,
    });
    expect((await client.listSessions()).map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    expect(calls.map((c) => c.url)).toEqual([
      'http://x/api/v1/sessions',
      'http://x/api/v1/sessions?cursor=c2',
    ]);
    expect(await client.listSessionsPage({ limit: 2 })).toMatchObject({ nextCursor: 'c2' });
    expect(calls.at(-1)?.url).toBe('http://x/api/v1/sessions?limit=2');
  });

  it('reads a server without paging (no nextCursor) as one whole list', async () => {
    const { fetch, calls } = fakeFetch(
      () => new Response(JSON.stringify({ items: [] }), { headers: { 'content-type': 'application/json' } }),
    );
    const client = createClient({
      baseUrl: 'http://x',
      storage: memoryStorage(tokens(9e15)),
      fetch,
      now: () => 0,
    });
    expect(await client.listSessions()).toEqual([]);
    expect(calls).toHaveLength(1);
  });
});

describe('localStorageStorage', () => {
  const fakeWebStorage = () => {
    const map = new Map<string, string>();
    return {
      map,
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    };
  };

  it('round-trips tokens under its key and clears them', () => {
    const web = fakeWebStorage();
    const storage = localStorageStorage('app.tokens', web);
    storage.set(tokens(42));
    expect(JSON.parse(web.map.get('app.tokens')!)).toMatchObject({ accessTokenExpiresAt: 42 });
    expect(storage.get()).toEqual(tokens(42));
    storage.clear();
    expect(storage.get()).toBeNull();
  });

  it('reads corrupt or foreign values as signed out', () => {
    const web = fakeWebStorage();
    web.map.set('tokenwarden.tokens', '{not json');
    expect(localStorageStorage(undefined, web).get()).toBeNull();
    web.map.set('tokenwarden.tokens', '{"accessToken":1}');
    expect(localStorageStorage(undefined, web).get()).toBeNull();
  });

  it('fails with storage_unavailable before any request where there is no localStorage (Node)', async () => {
    expect((globalThis as { localStorage?: unknown }).localStorage).toBeUndefined();
    const { fetch, calls } = fakeFetch(() => pair(1));
    let caught: unknown;
    try {
      const client = createClient({ baseUrl: 'http://x', storage: localStorageStorage(), fetch });
      await client.login('alice@example.com', 'correct horse battery');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TokenwardenClientError);
    expect(caught).toMatchObject({ code: 'storage_unavailable', status: 0 });
    expect((caught as Error).message).toMatch(/no localStorage/);
    expect(calls).toEqual([]);
  });

  it('fails with storage_unavailable when reading localStorage throws (storage blocked)', () => {
    const blocked = new DOMException('The operation is insecure.', 'SecurityError');
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw blocked;
      },
    });
    try {
      let caught: unknown;
      try {
        localStorageStorage();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TokenwardenClientError);
      expect(caught).toMatchObject({ code: 'storage_unavailable', cause: blocked });
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });

  it('refuses a localStorage that is not a Web Storage', () => {
    for (const fake of [null, 'tokens', {}, { getItem: () => null, setItem: 1, removeItem: () => {} }]) {
      (globalThis as { localStorage?: unknown }).localStorage = fake;
      try {
        expect(() => localStorageStorage()).toThrow(
          expect.objectContaining({ name: 'TokenwardenClientError', code: 'storage_unavailable' }),
        );
      } finally {
        delete (globalThis as { localStorage?: unknown }).localStorage;
      }
    }
  });

  it('ends the new server session when the store refuses the tokens after login', async () => {
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('quota exceeded', 'QuotaExceededError');
      },
      removeItem: () => {},
    };
    const { fetch, calls } = fakeFetch((url) =>
      url.endsWith('/api/v1/sessions') ? pair(1) : new Response(null, { status: 204 }),
    );
    const client = createClient({ baseUrl: 'http://x', storage: localStorageStorage('k', full), fetch });
    await expect(client.login('alice@example.com', 'correct horse battery')).rejects.toMatchObject({
      name: 'TokenwardenClientError',
      code: 'storage_unavailable',
    });
    expect(calls).toEqual([
      { url: 'http://x/api/v1/sessions', method: 'POST', authorization: null },
      { url: 'http://x/api/v1/sessions/current', method: 'DELETE', authorization: 'Bearer access-1' },
    ]);
  });

  it('uses globalThis.localStorage when none is given', () => {
    const web = fakeWebStorage();
    (globalThis as { localStorage?: unknown }).localStorage = web;
    try {
      localStorageStorage().set(tokens(7));
      expect(web.map.has('tokenwarden.tokens')).toBe(true);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});
