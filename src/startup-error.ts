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
     * `database_behind`: an operator command found migrations this version needs not applied yet.
     */
    readonly code:
      | 'data_dir_in_use'
      | 'database_unreachable'
      | 'database_not_initialised'
      | 'database_behind',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
