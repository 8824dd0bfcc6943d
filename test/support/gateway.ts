import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { caddySite, type GatewayAddresses, nginxConfig } from './gateway-configs.js';

/** What the upstream saw of one request that got through the gateway. */
interface UpstreamEcho {
  readonly method: string;
  readonly url: string;
  /** Every `x-tokenwarden-*` header it received (names lower case). */
  readonly identity: Record<string, string | string[] | undefined>;
}

/** A service behind the gateway: answers 200 with {@link UpstreamEcho} as JSON. */
export interface Upstream {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly received: UpstreamEcho[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const received: UpstreamEcho[] = [];
  const server = createServer((request, response) => {
    const identity = Object.fromEntries(
      Object.entries(request.headers as IncomingHttpHeaders).filter(([name]) =>
        name.replaceAll('_', '-').startsWith('x-tokenwarden-'),
      ),
    );
    const echo = { method: request.method ?? '', url: request.url ?? '', identity };
    received.push(echo);
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(echo));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A gateway process listening on 127.0.0.1, with its config and logs in a temp dir. */
export interface Gateway {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly dir: string;
  stop(): Promise<void>;
}

export interface GatewayKind {
  /** The binary, from the Debian package. */
  readonly binary: string;
  readonly name: 'nginx' | 'caddy';
}

export const NGINX: GatewayKind = { binary: '/usr/sbin/nginx', name: 'nginx' };
export const CADDY: GatewayKind = { binary: '/usr/bin/caddy', name: 'caddy' };

/** Whether the binary is here; if not, a warning that says how to install it. */
export function gatewayAvailable(kind: GatewayKind): boolean {
  const available = existsSync(kind.binary);
  if (!available) {
    console.warn(
      `\n[${kind.name}] SKIPPED gateway tests: ${kind.binary} not found (apt-get install -y nginx caddy)\n`,
    );
  }
  return available;
}

/**
 * Starts nginx or Caddy with the documented configuration (gateway-configs.ts) in front of
 * `upstream`, checking with tokenwarden at `tokenwarden`, and waits until it accepts
 * connections (bounded: it fails with the gateway's own log after 10 s).
 */
export async function startGateway(
  kind: GatewayKind,
  addresses: Omit<GatewayAddresses, 'listen'>,
): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), `tokenwarden-${kind.name}-`));
  const port = await freePort();
  const at = { ...addresses, listen: `127.0.0.1:${port}` };
  let child: ChildProcess;
  let logFile: string;
  if (kind.name === 'nginx') {
    const { site, check, identity } = nginxConfig(at);
    await writeFile(join(dir, 'tokenwarden-check.conf'), check);
    await writeFile(join(dir, 'tokenwarden-identity.conf'), identity);
    // Around the documented site: one process in the foreground, every path in the temp dir.
    const conf = [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 128; }',
      'http {',
      `    access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (temp) => `    ${temp}_temp_path ${dir}/${temp}_temp;`,
      ),
      site,
      '}',
      '',
    ].join('\n');
    await writeFile(join(dir, 'nginx.conf'), conf);
    logFile = join(dir, 'error.log');
    child = spawn(kind.binary, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', logFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } else {
    // admin off and auto_https off: no admin socket, no certificates; storage in the temp dir.
    const caddyfile = `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n${caddySite(at)}`;
    await writeFile(join(dir, 'Caddyfile'), caddyfile);
    logFile = join(dir, 'caddy.log');
    child = spawn(kind.binary, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        HOME: dir,
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_CONFIG_HOME: join(dir, 'config'),
      },
    });
  }
  const stderr: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      await exit;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited !== undefined || Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      throw new Error(
        `${kind.name} did not start (exit ${String(exited)}):\n${Buffer.concat(stderr).toString()}\n${log}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { base: `http://127.0.0.1:${port}`, dir, stop };
}
