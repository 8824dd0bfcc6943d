import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';

/** What {@link loadEnvFile} did, for the start-up log. */
export interface EnvFileOutcome {
  /** The absolute path of the file read, or null when there was none. */
  readonly path: string | null;
  /** The variables taken from it (names only: values may be secrets). */
  readonly loaded: readonly string[];
  /** Those it also sets but the environment already had: the environment wins. */
  readonly shadowed: readonly string[];
}

/**
 * Reads `.env` from the working directory, when there is one, into `env`: `npm start` and
 * the CLI take their configuration from it as from the environment, which wins where
 * both set a variable (an empty value in the environment included). dotenv parses it
 * (Node 20's own `--env-file` fails when the file is missing, and `process.loadEnvFile`
 * is not in every Node 20).
 *
 * @example
 * const { path, loaded } = loadEnvFile(); // { path: '/srv/app/.env', loaded: ['PORT', …], shadowed: [] }
 */
export function loadEnvFile(
  env: Record<string, string | undefined> = process.env,
  directory: string = process.cwd(),
): EnvFileOutcome {
  const path = resolve(directory, '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path: null, loaded: [], shadowed: [] };
    throw error;
  }
  const loaded: string[] = [];
  const shadowed: string[] = [];
  for (const [name, value] of Object.entries(parse(text))) {
    if (Object.hasOwn(env, name)) shadowed.push(name);
    else {
      env[name] = value;
      loaded.push(name);
    }
  }
  return { path, loaded, shadowed };
}
