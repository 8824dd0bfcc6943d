const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row, and must not reach a uuid column as-is. */
export function isUuid(value: string): boolean {
  return UUID_SHAPE.test(value);
}
