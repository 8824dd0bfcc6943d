/** Password hashing (argon2id in production). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same time as a real verify, for unknown emails (no user enumeration by timing). */
  verifyDummy(password: string): Promise<void>;
}
