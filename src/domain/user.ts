export type Role = 'user' | 'admin';

export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly role: Role;
  readonly minTokenVersion: number;
  readonly disabledAt: Date | null;
  readonly createdAt: Date;
}
