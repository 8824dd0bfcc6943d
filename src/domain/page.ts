export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}
