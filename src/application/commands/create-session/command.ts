/** Log in: check the credentials and start a session (a refresh-token family). */
export interface CreateSession {
  readonly email: string;
  readonly password: string;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export const CreateSession = (fields: CreateSession): CreateSession => Object.freeze({ ...fields });
