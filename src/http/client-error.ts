import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_MEDIA_TYPE } from './schemas.js';

/**
 * Answers a request Node's HTTP parser refused before fastify saw it (an unknown method
 * such as `FOO`, a malformed request line, headers too large, a request timeout) with
 * problem+json, like every other error: fastify's default wrote its own JSON shape. The
 * socket is then closed, since the parser cannot find where the next request starts.
 *
 * @example
 * Fastify({ clientErrorHandler: answerClientError });
 */
export function answerClientError(error: Error & { readonly code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, detail } = describe(error.code);
  const body = JSON.stringify({
    type: 'urn:tokenwarden:problem:bad-request',
    title: STATUS_CODES[status] ?? 'Bad request',
    status,
    detail,
    code: 'bad_request',
  });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Destroyed once the answer is flushed: a destroy right after write() drops what the
  // kernel had not taken yet (seen on a loaded machine: the 408 never arrived).
  const done = setTimeout(() => socket.destroy(), FLUSH_LIMIT_MS);
  done.unref();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `Content-Type: ${PROBLEM_MEDIA_TYPE}; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\nConnection: close\r\n\r\n' +
      body,
    () => {
      clearTimeout(done);
      socket.destroy();
    },
  );
}

/** A client that does not read its answer loses the connection after this anyway. */
const FLUSH_LIMIT_MS = 1_000;

function describe(code: string | undefined): { readonly status: number; readonly detail: string } {
  switch (code) {
    case 'HPE_INVALID_METHOD':
      return { status: 400, detail: 'The request method is not one this server knows' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, detail: 'The request was not received in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, detail: 'The request headers are too large' };
    default:
      // The parser's own reason may quote the bytes received: never echoed.
      return { status: 400, detail: 'The request is not valid HTTP' };
  }
}
