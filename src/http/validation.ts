import { Ajv, type Options } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

const base: Options = {
  allErrors: false,
  removeAdditional: false, // unknown fields are an error, not silently dropped
  useDefaults: true,
  strict: false,
};

/**
 * Fastify's default ajv coerces types and strips unknown fields everywhere; an auth
 * API must refuse both in bodies, while query strings and path params (text by
 * nature) still need numbers and booleans coerced. One ajv per part, per app.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodyAjv = addFormats(new Ajv({ ...base, coerceTypes: false }));
  const textAjv = addFormats(new Ajv({ ...base, coerceTypes: true }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);
}
