// Run by test/packaging/packages.test.ts from a scratch project that installed the packed
// @tokenwarden/verifier tarball (with fastify and express, its optional peers), as a user
// would: a Fastify and an Express app protected by it, a token accepted, then refused after
// a logout and after a user rotation. Prints one JSON line of what it saw.
import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier, tokenwardenExpress, tokenwardenFastify } from '@tokenwarden/verifier';
import express from 'express';
import Fastify from 'fastify';

const { TW_BASE, TW_EMAIL, TW_PASSWORD, TW_CLIENT_ID, TW_CLIENT_SECRET } = process.env;

const call = async (method, path, token) => {
  const res = await fetch(`${TW_BASE}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    body:
      method === 'POST'
        ? JSON.stringify(token === undefined ? { email: TW_EMAIL, password: TW_PASSWORD } : {})
        : undefined,
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
};
const login = async () => (await call('POST', '/api/v1/sessions')).body.accessToken;

const verifier = createVerifier({
  baseUrl: TW_BASE,
  audience: 'tokenwarden',
  clientId: TW_CLIENT_ID,
  clientSecret: TW_CLIENT_SECRET,
});
await verifier.ready();

const fastifyApp = Fastify();
await fastifyApp.register(async (api) => {
  await api.register(tokenwardenFastify(verifier));
  api.get('/whoami', async (request) => ({ sub: request.tokenwarden?.sub }));
});
await fastifyApp.listen({ host: '127.0.0.1', port: 0 });
const expressApp = express();
expressApp.use(tokenwardenExpress(verifier));
expressApp.get('/whoami', (req, res) => res.json({ sub: req.tokenwarden?.sub }));
const expressServer = await new Promise((resolve) => {
  const server = expressApp.listen(0, '127.0.0.1', () => resolve(server));
});
const downstreams = [fastifyApp.server.address().port, expressServer.address().port].map(
  (port) => `http://127.0.0.1:${port}`,
);

const whoami = (token) =>
  Promise.all(
    downstreams.map(async (base) => {
      const res = await fetch(`${base}/whoami`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.json();
      return { status: res.status, contentType: res.headers.get('content-type'), code: body.code ?? null };
    }),
  );
const untilRefused = async (token) => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await verifier.verify(token);
    if (!result.ok || Date.now() > deadline) return result;
    await sleep(20);
  }
};

const out = {};
let token = await login();
out.accepted = (await verifier.verify(token)).ok;
out.acceptedDownstream = await whoami(token);
out.logout = (await call('DELETE', '/api/v1/sessions/current', token)).status;
const afterLogout = await untilRefused(token);
out.afterLogout = { ok: afterLogout.ok, code: afterLogout.code };
out.afterLogoutDownstream = await whoami(token);

token = await login();
out.acceptedAgain = (await verifier.verify(token)).ok;
out.rotation = (await call('POST', '/api/v1/users/me/rotations', token)).status;
const afterRotation = await untilRefused(token);
out.afterRotation = { ok: afterRotation.ok, code: afterRotation.code, rejection: afterRotation.rejection };
out.afterRotationDownstream = await whoami(token);

await verifier.close();
await fastifyApp.close();
await new Promise((resolve) => expressServer.close(resolve));
console.log(JSON.stringify(out));
