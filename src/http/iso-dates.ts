/** `T` as an answer sends it: each `Date` field an ISO 8601 string (`Date | null`: string or null). */
type WithIsoDates<T> = {
  [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K];
};

/**
 * A view as an answer sends it: its `Date` fields as ISO 8601 strings, every other field
 * as it is (the response schema then drops what it does not list).
 */
export function withIsoDates<T extends object>(view: T): WithIsoDates<T> {
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(view))
    json[key] = value instanceof Date ? value.toISOString() : value;
  return json as WithIsoDates<T>;
}
