/**
 * Seals the successor of a refresh token under a key derived from the parent's
 * plaintext, which is never stored: a database leak yields no usable successor.
 */
export interface SuccessorSealer {
  seal(parentToken: string, successorToken: string): string;
  /** The successor, or null when the sealed value does not open under this parent. */
  open(parentToken: string, sealed: string): string | null;
}
