import type { Command } from 'commander';
import { DisableUser } from '../application/commands/disable-user/command.js';
import { EnableUser } from '../application/commands/enable-user/command.js';
import { PromoteUser } from '../application/commands/promote-user/command.js';
import { RegisterUser } from '../application/commands/register-user/command.js';
import type { Core } from '../composition-root.js';
import type { Result } from '../domain/result.js';
import type { CommonOptions, Paging } from './command-kit.js';
import { jsonOption, listPage, outputFor, paging, unwrap } from './command-kit.js';
import { type CliIo, cliActor, resolveUser, withCore } from './context.js';
import { when } from './output.js';
import { readNewPassword } from './password.js';

/** `tokenwarden users create|list|disable|enable|promote`. */
export function registerUsers(program: Command, io: CliIo): void {
  const users = program.command('users').description('create, list, disable, enable and promote accounts');

  jsonOption(
    users
      .command('create')
      .description(
        'create an account; the password is read from stdin when piped (first line), else prompted for',
      )
      .requiredOption('--email <email>', 'the email address')
      .option('--admin', 'make it an admin'),
  ).action(async (options: CommonOptions & { readonly email: string; readonly admin?: boolean }) => {
    const password = await readNewPassword(io);
    await withCore(io, async (core) => {
      const created = unwrap(
        await core.services.registerUser.handle(
          RegisterUser({
            email: options.email,
            password,
            role: options.admin === true ? 'admin' : 'user',
            actor: cliActor(io),
          }),
        ),
      );
      outputFor(io, options).result(
        created,
        () => `Created ${created.role} ${created.email} (id ${created.id}).`,
      );
    });
  });

  jsonOption(
    paging(
      users
        .command('list')
        .description('accounts, oldest first')
        .option('--email <text>', 'only emails containing this text'),
      'users',
      100,
    ),
  ).action((options: CommonOptions & Paging & { readonly email?: string }) =>
    listPage(
      io,
      options,
      (core, paging) => core.services.listUsers.execute({ email: options.email, ...paging }),
      {
        noun: 'users',
        header: ['ID', 'EMAIL', 'ROLE', 'VERSION', 'CREATED', 'DISABLED'],
        row: (u) => [u.id, u.email, u.role, String(u.minTokenVersion), when(u.createdAt), when(u.disabledAt)],
        empty: 'No users match.',
      },
    ),
  );

  /**
   * `users disable|enable <user> [--reason]`: resolve the user, run the command as
   * cli:<os user>, print what changed (or that nothing had to).
   */
  const accountSwitch = <R extends { readonly changed: boolean }>(
    name: string,
    description: string,
    apply: (
      core: Core,
      input: { userId: string; actor: string; reason: string | null },
    ) => Promise<Result<R>>,
    describe: (result: R, who: string) => string,
  ) =>
    jsonOption(
      users
        .command(name)
        .description(description)
        .argument('<user>', 'user id or email')
        .option('--reason <text>', 'why, for the audit log'),
    ).action(async (userRef: string, options: CommonOptions & { readonly reason?: string }) => {
      await withCore(io, async (core) => {
        const user = await resolveUser(core, userRef);
        const result = unwrap(
          await apply(core, {
            userId: user.id,
            actor: cliActor(io),
            reason: options.reason?.trim() || null,
          }),
        );
        outputFor(io, options).result({ ...result, email: user.email }, () =>
          describe(result, `${user.email} (id ${user.id})`),
        );
      });
    });

  accountSwitch(
    'disable',
    'disable an account: its tokens stop working and it cannot log in (audited)',
    (core, input) => core.services.disableUser.handle(DisableUser(input)),
    (result, who) =>
      result.changed
        ? `Disabled ${who}: its tokens are refused and it cannot log in.`
        : `${who} was already disabled, since ${when(result.disabledAt)}.`,
  );

  accountSwitch(
    'enable',
    'enable a disabled account; its old tokens stay dead (the user is rotated), it logs in afresh',
    (core, input) => core.services.enableUser.handle(EnableUser(input)),
    (result, who) =>
      result.changed
        ? `Enabled ${who}; tokens from before stay refused (token version ${result.minTokenVersion}).`
        : `${who} was not disabled.`,
  );

  jsonOption(
    users
      .command('promote')
      .description(
        'give an existing account the admin role (audited); its tokens from before are refused, it logs in afresh',
      )
      .argument('<user>', 'user id or email')
      .requiredOption('--reason <text>', 'why, for the audit log (1-500 characters)'),
  ).action(async (userRef: string, options: CommonOptions & { readonly reason: string }) => {
    await withCore(io, async (core) => {
      const user = await resolveUser(core, userRef);
      const result = unwrap(
        await core.services.promoteUser.handle(
          PromoteUser({ userId: user.id, actor: cliActor(io), reason: options.reason }),
        ),
      );
      const who = `${user.email} (id ${user.id})`;
      outputFor(io, options).result({ ...result, email: user.email, role: 'admin' }, () =>
        result.changed
          ? `Promoted ${who} to admin; tokens from before are refused (token version ${result.minTokenVersion}).`
          : `${who} was already an admin.`,
      );
    });
  });
}
