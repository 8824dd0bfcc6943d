import type { Command } from 'commander';
import { type CommonOptions, jsonOption, outputFor } from './command-kit.js';
import { type CliIo, cliConfig } from './context.js';
import { CliError, usageError } from './errors.js';

/** `tokenwarden webhooks secret`: what each receiver verifies signatures with. */
export function registerWebhooks(program: Command, io: CliIo): void {
  const webhooks = program.command('webhooks').description('webhook receivers and their signing secrets');

  jsonOption(
    webhooks
      .command('secret')
      .description(
        "print a receiver's own signing secret, derived from TOKENWARDEN_WEBHOOK_SECRET and its URL " +
          '(give it to that receiver only; needs no database)',
      )
      .argument('<url>', 'the receiver URL, as listed in TOKENWARDEN_WEBHOOK_URLS'),
  ).action(async (rawUrl: string, options: CommonOptions) => {
    const config = cliConfig(io.env);
    const { urls, secret } = config.webhooks;
    if (urls.length === 0 || secret === null) {
      throw usageError(
        'no webhook receivers are configured (set TOKENWARDEN_WEBHOOK_URLS and TOKENWARDEN_WEBHOOK_SECRET)',
      );
    }
    let url: string;
    try {
      // The same normalisation as the configuration's, so either spelling of a URL matches.
      url = new URL(rawUrl.trim()).href;
    } catch {
      throw usageError(`${JSON.stringify(rawUrl.slice(0, 200))} is not a URL`);
    }
    if (!urls.includes(url)) {
      throw new CliError(
        `${JSON.stringify(url.slice(0, 200))} is not one of the ${urls.length} URLs in TOKENWARDEN_WEBHOOK_URLS (webhook_not_configured)`,
      );
    }
    // Loaded on demand, as in withCore: the other commands answer without loading the stack.
    const { deriveWebhookSecret } = await import('../composition-root.js');
    const derived = deriveWebhookSecret(secret, url);
    outputFor(io, options).result({ url, secret: derived }, () => derived);
  });
}
