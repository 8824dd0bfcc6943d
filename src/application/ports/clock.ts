/** Where time comes from. Tests use a manual clock and move it instead of sleeping. */
export interface Clock {
  now(): Date;
}
