import { InvalidArgumentError } from 'commander';

/** Commander argument parsers: a bad value is a usage error naming what was expected. */
export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const value = Number(raw.trim());
    if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

export function isoTimestamp(raw: string): Date {
  // A date alone, or a date and time; the time zone defaults to UTC rather than local time.
  const match = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
    raw.trim(),
  );
  const text =
    match === null ? '' : match[1] !== undefined && match[4] === undefined ? `${raw.trim()}Z` : raw;
  const date = new Date(text);
  if (match === null || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      `expected an ISO-8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z, got ${JSON.stringify(raw)}`,
    );
  }
  return date;
}

/**
 * One of a fixed set of names (`audit list --action`): anything else is a usage error
 * listing the valid ones, rather than a filter that silently matches nothing.
 *
 * @example
 * command.option('--action <action>', 'only this action', oneOf(['user.disabled', 'user.enabled']));
 */
export function oneOf(values: readonly string[]): (raw: string) => string {
  return (raw) => {
    const value = raw.trim();
    if (!values.includes(value)) {
      throw new InvalidArgumentError(
        `expected one of ${[...values].sort().join(', ')}; got ${JSON.stringify(raw.slice(0, 100))}`,
      );
    }
    return value;
  };
}
