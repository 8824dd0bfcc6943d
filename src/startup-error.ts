/**
 * What keeps tokenwarden from opening what the configuration names, with a message that
 * tells the operator what to do (`code` says which case). The composition root maps the
 * infrastructure's own errors to it, so the CLI reports it on one line, without a stack,
 * and without importing infrastructure.
 *
 * @example
 * if (error instanceof StartupError) console.error(`tokenwarden: ${error.message}`);
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    /**
     * `data_dir_in_use`: another live process holds the PGlite data directory;
     * `database_unreachable`: PostgreSQL cannot be connected to;
     * `database_not_initialised`: an operator command found no tokenwarden database there;
     * `database_behind`: an operator command found migrations this version needs not applied yet;
     * `master_key_missing` / `master_key_wrong`: the signing keys are sealed and
     * TOKENWARDEN_MASTER_KEY is unset / is not the key they were sealed with;
     * `signing_key_unreadable`: a stored signing key is damaged;
     * `admin_bootstrap_refused`: TOKENWARDEN_ADMIN_EMAIL / _PASSWORD were refused;
     * `port_in_use` / `port_not_permitted`: the server cannot listen on HOST:PORT.
     */
    readonly code:
      | 'data_dir_in_use'
      | 'database_unreachable'
      | 'database_not_initialised'
      | 'database_behind'
      | 'master_key_missing'
      | 'master_key_wrong'
      | 'signing_key_unreadable'
      | 'admin_bootstrap_refused'
      | 'port_in_use'
      | 'port_not_permitted',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
