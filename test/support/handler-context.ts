import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { CreateSession } from '../../src/application/commands/create-session/command.js';
import { CreateSessionHandler } from '../../src/application/commands/create-session/handler.js';
import { RegisterUser } from '../../src/application/commands/register-user/command.js';
import { RegisterUserHandler } from '../../src/application/commands/register-user/handler.js';
import type { AppContext } from '../../src/application/context.js';
import type { TokenPair } from '../../src/application/token-pair.js';
import { type Core, createCore } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/infrastructure/database/schema.js';
import { describeEachDatabase, type TestDatabaseName } from './databases.js';
import { ManualClock } from './manual-clock.js';
import { TEST_ENV, USER_PASSWORD } from './test-app.js';

/** A user made through RegisterUser, with the password it was registered with. */
interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
}

/** An audit row or an outbox event, as a handler test reads it back. */
export interface WrittenRow {
  readonly kind: string;
  readonly actor?: string;
  readonly userId: string | null;
  readonly reason?: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly occurredAt: Date;
}

/** What a {@link describeHandler} body gets: the production core over the suite's database, and its clock. */
export interface HandlerSuite {
  readonly database: TestDatabaseName;
  /** The clock every handler of this suite reads: move it to cross grace windows and intervals. */
  readonly clock: ManualClock;
  /** The core as the composition root builds it (opened in `beforeAll`). */
  readonly core: Core;
  /** The handlers' ports: `new XHandler(suite.ctx)`. */
  readonly ctx: AppContext;
  readonly db: Kysely<Database>;
  /** A new user (fresh email) through RegisterUser; admin when asked. */
  user(options?: { readonly role?: 'user' | 'admin'; readonly prefix?: string }): Promise<TestUser>;
  /** A session through CreateSession. */
  login(user: Pick<TestUser, 'email' | 'password'>): Promise<TokenPair>;
  /** Audit rows, oldest first, of one action (and subject user). */
  audit(action: string, userId?: string | null): Promise<WrittenRow[]>;
  /** Outbox events, oldest first, of one type (and, when given, whose payload names this user). */
  events(type: string, userId?: string): Promise<WrittenRow[]>;
  /** How many audit rows and outbox events exist: compare before and after a refused command. */
  writes(): Promise<{ readonly audit: number; readonly outbox: number }>;
  /** The `kid` of the signing key that signs now (the one `status = 'active'` row). */
  activeKid(): Promise<string>;
}

/**
 * One suite per test database (PGlite, and PostgreSQL when DATABASE_URL is set), each
 * with the core `createCore` builds over it, a {@link ManualClock} and cheap argon2.
 * Tests share the database, so they make their own users; the security config is
 * shared too, so global assertions are relative to what a test read first.
 *
 * @example
 * describeHandler('DisableUserHandler', (suite) => {
 *   it('disables', async () => { const user = await suite.user(); … new DisableUserHandler(suite.ctx) … });
 * });
 */
export function describeHandler(
  title: string,
  body: (suite: HandlerSuite) => void,
  env: Readonly<Record<string, string>> = {},
): void {
  describeEachDatabase(title, (database) => {
    const clock = new ManualClock();
    let core: Core | undefined;
    beforeAll(async () => {
      const config = loadConfig({
        TOKENWARDEN_ARGON2_MEMORY_KIB: TEST_ENV.TOKENWARDEN_ARGON2_MEMORY_KIB,
        TOKENWARDEN_ARGON2_ITERATIONS: TEST_ENV.TOKENWARDEN_ARGON2_ITERATIONS,
        LOG_LEVEL: 'silent',
        ...env,
      });
      // The suite's database is closed by describeEachDatabase, after this core (hooks unwind in reverse).
      core = await createCore(config, {
        clock,
        database: { db: database.db, close: async () => {} },
        defaultMetrics: false,
      });
    });
    afterAll(async () => {
      await core?.close();
    });
    const opened = (): Core => {
      if (core === undefined) throw new Error('describeHandler: the core exists only inside tests');
      return core;
    };

    body({
      database: database.name,
      clock,
      get core() {
        return opened();
      },
      get ctx() {
        return opened().context;
      },
      get db() {
        return database.db;
      },
      async user(options = {}) {
        const email = `${options.prefix ?? 'user'}-${randomBytes(5).toString('hex')}@example.com`;
        const registered = await new RegisterUserHandler(opened().context).handle(
          RegisterUser({ email, password: USER_PASSWORD, role: options.role ?? 'user', actor: 'self' }),
        );
        if (!registered.ok) throw new Error(`register ${email}: ${registered.error.code}`);
        return { id: registered.value.id, email, password: USER_PASSWORD };
      },
      async login(user) {
        const session = await new CreateSessionHandler(opened().context).handle(
          CreateSession({ email: user.email, password: user.password, userAgent: 'test', ip: null }),
        );
        if (!session.ok) throw new Error(`login ${user.email}: ${session.error.code}`);
        return session.value;
      },
      async audit(action, userId) {
        let query = database.db
          .selectFrom('audit_log')
          .selectAll()
          .where('action', '=', action)
          .orderBy('occurred_at')
          .orderBy('id');
        if (userId !== undefined) {
          query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId);
        }
        return (await query.execute()).map((row) => ({
          kind: row.action,
          actor: row.actor,
          userId: row.user_id,
          reason: row.reason,
          payload: row.details,
          occurredAt: row.occurred_at,
        }));
      },
      async events(type, userId) {
        const rows = await database.db
          .selectFrom('outbox')
          .selectAll()
          .where('event_type', '=', type)
          .orderBy('occurred_at')
          .execute();
        return rows
          .map((row) => ({
            kind: row.event_type,
            userId: typeof row.payload.userId === 'string' ? row.payload.userId : null,
            payload: row.payload,
            occurredAt: row.occurred_at,
          }))
          .filter((row) => userId === undefined || row.userId === userId);
      },
      async writes() {
        const count = async (table: 'audit_log' | 'outbox') =>
          Number(
            (
              await database.db
                .selectFrom(table)
                .select((eb) => eb.fn.countAll().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          );
        return { audit: await count('audit_log'), outbox: await count('outbox') };
      },
      async activeKid() {
        const row = await database.db
          .selectFrom('signing_keys')
          .select('kid')
          .where('status', '=', 'active')
          .executeTakeFirstOrThrow();
        return row.kid;
      },
    });
  });
}

/** The repositories a unit of work hands its work (inferred, so this helper names no port file). */
type Repos = Parameters<Parameters<AppContext['uow']['run']>[0]>[0];

/**
 * The suite's ports, except that one repository method throws inside every
 * transaction (a lost connection, a full disk): for a handler's failure path.
 *
 * @example
 * const ctx = failingAt(suite.ctx, 'securityConfig', 'rotateGlobal');
 * await expect(new TriggerGlobalTokenRotationHandler(ctx).handle(command)).rejects.toThrow();
 */
export function failingAt<R extends keyof Repos>(
  ctx: AppContext,
  repository: R,
  method: keyof Repos[R] & string,
  error: Error = new Error(`simulated failure in ${repository}.${method}`),
): AppContext {
  const breakOne = (repos: Repos): Repos => {
    const target = repos[repository] as object;
    const broken = new Proxy(target, {
      get(inner, key) {
        if (key === method) return () => Promise.reject(error);
        const value: unknown = Reflect.get(inner, key);
        return typeof value === 'function' ? value.bind(inner) : value;
      },
    });
    return { ...repos, [repository]: broken };
  };
  return {
    ...ctx,
    uow: {
      run: (work) => ctx.uow.run((repos) => work(breakOne(repos))),
      read: (work) => ctx.uow.read(work),
      statement: (work) => ctx.uow.statement((repos) => work(breakOne(repos))),
    },
  };
}
