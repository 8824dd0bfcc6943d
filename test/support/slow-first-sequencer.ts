import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds a file took in a full run with PostgreSQL and Redis on a two-core machine, for the
 * files of 4 s or more (a loaded machine: about twice a quiet one's). A fresh clone (CI) has no timings of its own, and vitest then starts
 * the largest files first: a short file that starts servers (the crash test is 30 lines) ran
 * last and kept one worker busy alone for half a minute. Rough figures are enough: they only
 * decide the order. A file not listed counts as quick.
 */
const KNOWN_SECONDS: Readonly<Record<string, number>> = {
  'test/cli/cli.test.ts': 79,
  'test/retention/pruner.test.ts': 79,
  'test/deploy/built-server.test.ts': 63,
  'test/cli/cli-safety.test.ts': 47,
  'test/reliability/http-fuzz.test.ts': 46,
  'test/security/http-edge.test.ts': 45,
  'test/packaging/packages.test.ts': 41,
  'test/feed/revocation-stream-ends.test.ts': 40,
  'test/http/signing-keys.test.ts': 39,
  'test/reliability/crash.test.ts': 37,
  'test/verifier/verifier-faults.test.ts': 36,
  'test/feed/revocation-stream.test.ts': 35,
  'test/reliability/faults.test.ts': 32,
  // Five server processes; 39 s alone (the run above reported 3 s).
  'test/cache/multi-instance.test.ts': 39,
  'test/security/admin-bootstrap.test.ts': 31,
  'test/http/openapi-conformance.test.ts': 30,
  'src/infrastructure/webhooks/webhook-relay.test.ts': 30,
  'test/http/deployment.test.ts': 28,
  'test/http/rotation-schedule.test.ts': 21,
  'test/security/shared-limits.test.ts': 21,
  'test/verifier/verifier.test.ts': 21,
  'test/http/global-rotation.test.ts': 20,
  'test/http/restart.test.ts': 19,
  'test/http/service-clients.test.ts': 19,
  'test/security/log-secrets.test.ts': 18,
  'test/cli/audit-trail-cli.test.ts': 27,
  'test/audit/audit-checkpoints.test.ts': 9,
  'test/audit/audit-chain-at-commit.test.ts': 7,
  'test/http/webhooks.test.ts': 16,
  'test/http/session-limit.test.ts': 15,
  'src/infrastructure/database/repositories/kysely-audit-chain.test.ts': 8,
  'test/reliability/races.test.ts': 15,
  'test/feed/revocation-feed.test.ts': 14,
  'test/http/access-token-claims.test.ts': 14,
  'src/infrastructure/crypto/signing-key-lifecycle.test.ts': 13,
  'test/http/drain.test.ts': 12,
  'test/http/refresh.test.ts': 12,
  'test/security/slow-clients.test.ts': 11,
  'src/infrastructure/database/create-database.test.ts': 10,
  'test/cli/config-schedule-cli.test.ts': 9,
  'test/conformance/feed-server.test.ts': 8,
  'test/verifier/es256.test.ts': 9,
  'test/cli/clients-cli.test.ts': 8,
  'test/http/access-log.test.ts': 8,
  'test/http/user-rotation.test.ts': 7,
  'src/infrastructure/database/live-token-query.test.ts': 7,
  'test/cli/prune-cli.test.ts': 6,
  'test/cli/keys-algorithm-cli.test.ts': 6,
  'test/client/client-server.test.ts': 6,
  'test/http/oauth-endpoints.test.ts': 5,
  // Each starts a gateway process and a server per database (measured at load 10: 4.2 and 4.8 s).
  'test/gateways/caddy.test.ts': 5,
  'test/gateways/nginx.test.ts': 5,
  'test/security/sealed-successors.test.ts': 5,
  'packages/verifier/src/verifier-feed.test.ts': 5,
  'src/application/commands/refresh-tokens/handler.test.ts': 5,
  'src/infrastructure/database/repositories/kysely-refresh-token-repository.test.ts': 5,
  'test/http/oauth-clients.test.ts': 4,
  'test/http/untrusted-strings.test.ts': 4,
  'src/infrastructure/crypto/signing-key-store.test.ts': 4,
  'src/infrastructure/database/migrator.test.ts': 4,
  'src/application/commands/create-session/handler.test.ts': 4,
  'src/infrastructure/database/repositories/kysely-outbox-repository.test.ts': 4,
};

/**
 * Runs the slowest files first, so the two workers finish together: failed files first (as
 * vitest does), then by the duration vitest remembers from this checkout's last run, or by
 * {@link KNOWN_SECONDS} where it remembers none.
 *
 * @example
 * defineConfig({ test: { sequence: { sequencer: SlowFirstSequencer } } });
 */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const estimate = (spec: TestSpecification) => {
      const path = relative(root, spec.moduleId).split('\\').join('/');
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      return {
        failed: cached?.failed === true,
        ms: cached?.duration ?? (KNOWN_SECONDS[path] ?? 0) * 1000,
      };
    };
    const estimates = new Map(files.map((spec) => [spec, estimate(spec)]));
    return [...files].sort((a, b) => {
      const ea = estimates.get(a)!;
      const eb = estimates.get(b)!;
      if (ea.failed !== eb.failed) return ea.failed ? -1 : 1;
      return eb.ms - ea.ms;
    });
  }
}
