import { describe, expect, it } from 'vitest';
import { createValidatorCompiler } from './validation.js';

/** A schema object built afresh each call, as a route plugin builds its schemas for each app. */
const schema = () => ({
  type: 'object',
  properties: {
    n: { type: 'integer' },
    code: { type: 'string', pattern: '^[a-z]+$', description: 'lower-case letters' },
  },
  additionalProperties: false,
});
const compile = (httpPart: string) =>
  createValidatorCompiler()({ schema: schema(), httpPart, method: 'POST', url: '/x' }) as ((
    data: unknown,
  ) => boolean) & { errors: { message?: string }[] | null };

describe('createValidatorCompiler, its validators shared by every app in the process', () => {
  it('refuses coercion and unknown fields in a body, and coerces text parts, in each app alike', () => {
    for (let app = 0; app < 2; app++) {
      expect(compile('body')({ n: '1' })).toBe(false);
      expect(compile('body')({ n: 1, extra: true })).toBe(false);
      expect(compile('body')({ n: 1 })).toBe(true);
      const query = { n: '1' };
      expect(compile('querystring')(query)).toBe(true);
      expect(query).toEqual({ n: 1 });
    }
  });

  it('gives each validator its own errors, worded by the schema’s description', () => {
    const first = compile('body');
    const second = compile('body');
    expect(first({ code: 'ABC' })).toBe(false);
    expect(second({ code: 'abc' })).toBe(true);
    expect(second.errors).toBeNull();
    expect(first.errors?.[0]?.message).toBe('is not valid: lower-case letters');
  });
});
