import { TokenwardenError } from '../../domain/errors.js';

/**
 * A list was asked to continue from a cursor it did not issue: a client error, so it
 * is a `validation_failed` problem (422) naming the `cursor` parameter.
 */
export class InvalidCursorError extends TokenwardenError {
  constructor(cursor: string) {
    super('validation_failed', `invalid pagination cursor ${JSON.stringify(cursor.slice(0, 100))}`, {
      errors: [{ path: '/cursor', message: 'is not a cursor this list issued' }],
    });
    this.name = 'InvalidCursorError';
  }
}
