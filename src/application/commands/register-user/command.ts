import type { Role } from '../../../domain/user.js';

export interface RegisterUser {
  readonly email: string;
  readonly password: string;
  readonly role: Role;
  /** Who registered the user: the user themself (`self`), an admin id, `system` or `cli:<os user>`. */
  readonly actor: string;
}

export const RegisterUser = (fields: RegisterUser): RegisterUser => Object.freeze({ ...fields });
