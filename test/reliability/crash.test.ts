import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * The short form of the crash test in `npm test`: two `kill -9`s per database (the
 * soak runs twenty). The script checks, after every kill with the server down, that
 * every rotation the client saw succeed is there with its audit row and outbox event,
 * that no session has two live tokens, and that the server starts again.
 */
describe('kill -9 during refresh and rotation load (short form)', () => {
  it('loses no acknowledged rotation and never leaves a session with two live tokens', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/crash-test.ts', '--kills', '2', '--seed', '20261126'],
      { env: process.env, timeout: 590_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      results: { database: string; kills: number; answers500: number; problems: unknown[] }[];
    };
    expect(report.results.length).toBe(process.env.DATABASE_URL ? 2 : 1);
    for (const result of report.results) {
      expect(result.kills).toBe(2);
      expect(result.answers500).toBe(0);
      expect(result.problems).toEqual([]);
    }
  }, 600_000);
});
