import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** An echo server behind the proxy: what the fault tests' proxy must pass, hold and cut. */
describe('the fault-test TCP proxy', () => {
  const echo = createServer((socket) => socket.pipe(socket));
  let proxy: TcpProxy;

  beforeAll(async () => {
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await startTcpProxy((echo.address() as { port: number }).port);
  });
  afterAll(async () => {
    await proxy.close();
    echo.close();
  });

  const open = async (): Promise<Socket> => {
    const socket = connect(proxy.port, '127.0.0.1');
    // A reset is what `cut` is for: the tests watch 'close'.
    socket.on('error', () => {});
    await once(socket, 'connect');
    return socket;
  };
  const roundTrip = async (socket: Socket, text: string, timeoutMs = 1_000): Promise<string | null> => {
    socket.write(text);
    const answer = once(socket, 'data').then(([chunk]) => String(chunk));
    return Promise.race([answer, sleep(timeoutMs).then(() => null)]);
  };

  it('passes bytes both ways, holds them while frozen and lets them through on thaw', async () => {
    const socket = await open();
    expect(await roundTrip(socket, 'a')).toBe('a');
    proxy.freeze();
    const held = roundTrip(socket, 'b', 3_000);
    await sleep(300); // frozen for a while, by the clock: the bytes must wait it out
    proxy.thaw();
    expect(await held).toBe('b');
    socket.destroy();
  });

  it('drops the connections open at freezeExisting for good, new ones work', async () => {
    const old = await open();
    proxy.freezeExisting();
    expect(await roundTrip(old, 'c', 300)).toBeNull();
    const fresh = await open();
    expect(await roundTrip(fresh, 'd')).toBe('d');
    old.destroy();
    fresh.destroy();
  });

  it('freezes only the connections whose client sent a match', async () => {
    const listener = await open();
    const other = await open();
    expect(await roundTrip(listener, 'LISTEN "x"')).toBe('LISTEN "x"');
    expect(await roundTrip(other, 'select 1')).toBe('select 1');
    expect(proxy.freezeExisting(/listen /i)).toBe(1);
    expect(await roundTrip(listener, 'y', 300)).toBeNull();
    expect(await roundTrip(other, 'z')).toBe('z');
    listener.destroy();
    other.destroy();
  });

  it('cut resets open connections; refuse closes new ones until accept', async () => {
    const socket = await open();
    // events.once would reject on the reset's 'error': wait for 'close' itself.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    proxy.cut();
    await closed;
    proxy.refuse();
    const refused = connect(proxy.port, '127.0.0.1');
    refused.on('error', () => {});
    await new Promise((resolve) => refused.once('close', resolve));
    expect(refused.bytesRead).toBe(0);
    proxy.accept();
    const again = await open();
    expect(await roundTrip(again, 'e')).toBe('e');
    again.destroy();
  });
});
