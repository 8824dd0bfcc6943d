import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { hasEmailShape } from '../domain/credentials.js';
import { validationError } from '../domain/errors.js';

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

const base: Options = {
  allErrors: false,
  removeAdditional: false, // unknown fields are an error, not silently dropped
  useDefaults: true,
  strict: false,
};

/**
 * ajv-formats' `email` is ASCII-only RFC 5321; the server's rule is the domain's (Unicode
 * addresses, compared after normalising), so the documented format means that rule.
 */
const withFormats = (ajv: Ajv): Ajv => addFormats(ajv).addFormat('email', hasEmailShape);

/**
 * Fastify's default ajv coerces types and strips unknown fields everywhere; an auth
 * API must refuse both in bodies, while query strings and path params (text by
 * nature) still need numbers and booleans coerced. One ajv per part. Path
 * parameters carry formats as annotations only: an id that is not a uuid names no
 * resource, the 404 every unknown id gets (schemas.ts, `UuidParam`).
 *
 * The ajvs and what they compile are the process's, not the app's: a validator is a function
 * of its part and its schema alone, and an app built again in the same process (a restart in
 * place, every test's app) finds each route's validator compiled already. Schemas are matched
 * by value: routes build their schema objects afresh for each app.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) => {
    const part: Part = httpPart === 'body' ? 'body' : httpPart === 'params' ? 'params' : 'text';
    const key = `${part} ${JSON.stringify(schema)}`;
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = ajvs()[part].compile(schema as object);
      compiled.set(key, validate);
    }
    const run = validate;
    const checked = (data: unknown) => {
      const valid = run(data);
      checked.errors = valid ? null : (run.errors ?? []).map((error) => describePattern(schema, error));
      return valid;
    };
    checked.errors = null as ErrorObject[] | null;
    return checked;
  };
}

type Part = 'body' | 'params' | 'text';

const compiled = new Map<string, ValidateFunction>();

let made: Readonly<Record<Part, Ajv>> | undefined;

function ajvs(): Readonly<Record<Part, Ajv>> {
  made ??= {
    body: withFormats(new Ajv({ ...base, coerceTypes: false })),
    text: withFormats(new Ajv({ ...base, coerceTypes: true })),
    params: withFormats(new Ajv({ ...base, coerceTypes: true, validateFormats: false })),
  };
  return made;
}

/**
 * A failed `pattern` says what the field's description says: the pattern's source is for
 * machines (the document has it), and ajv's message would echo all of it.
 */
function describePattern(schema: unknown, error: ErrorObject): ErrorObject {
  if (error.keyword !== 'pattern') return error;
  let at: unknown = schema;
  const steps = error.schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  for (const step of steps) {
    const key = step.replaceAll('~1', '/').replaceAll('~0', '~');
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  const description =
    at !== null && typeof at === 'object' ? (at as { description?: unknown }).description : undefined;
  return typeof description === 'string' ? { ...error, message: `is not valid: ${description}` } : error;
}

// NUL cannot be stored by PostgreSQL (a 500 before this check); a lone surrogate has no
// UTF-8 form, so drivers silently write U+FFFD and two different inputs become one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this finds
const UNSTORABLE = /[\u0000\p{Cs}]/u;

interface Visit {
  readonly value: unknown;
  readonly key: string | null;
  readonly parent: Visit | null;
}

const pointerOf = (visit: Visit): string => {
  const keys: string[] = [];
  for (let at: Visit | null = visit; at !== null && at.key !== null; at = at.parent) {
    keys.push(at.key.replaceAll('~', '~0').replaceAll('/', '~1'));
  }
  return keys.length === 0 ? '/' : `/${keys.reverse().join('/')}`;
};

/**
 * The JSON pointer of the first string (or object key) in `value` that cannot be stored,
 * if any. Iterative, with parents linked rather than paths built: a body may nest
 * 100 000 levels deep.
 */
function findUnstorableString(value: unknown): string | null {
  const stack: Visit[] = [{ value, key: null, parent: null }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const current = visit.value;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) return pointerOf(visit);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    const entries = Array.isArray(current)
      ? current.map((item, index) => [String(index), item] as const)
      : Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i] as readonly [string, unknown];
      const child: Visit = { value: item, key, parent: visit };
      if (UNSTORABLE.test(key)) return pointerOf(child);
      stack.push(child);
    }
  }
  return null;
}

/** Replaces what {@link findUnstorableString} refuses by U+FFFD: for headers we store but must not refuse. */
function replaceUnstorable(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this replaces
  return value.replace(/[\u0000\p{Cs}]/gu, '\ufffd');
}

/**
 * A `preValidation` hook for every route: any string in the body, query string or path
 * parameters (nested, and object keys too) holding NUL or a lone surrogate is a 422
 * naming its path, before a schema or a handler sees it. The stored `user-agent` header
 * is cleaned instead: a browser's odd header must not stop a login.
 */
export async function refuseUnstorableStrings(request: FastifyRequest): Promise<void> {
  const parts = [
    ['body', request.body],
    ['querystring', request.query],
    ['params', request.params],
  ] as const;
  for (const [part, value] of parts) {
    const path = findUnstorableString(value);
    if (path !== null) {
      throw validationError(
        [{ path, message: 'must not contain NUL or unpaired surrogate characters' }],
        `The request ${part} is not valid`,
      );
    }
  }
  const agent = request.headers['user-agent'];
  if (typeof agent === 'string' && UNSTORABLE.test(agent))
    request.headers['user-agent'] = replaceUnstorable(agent);
}
