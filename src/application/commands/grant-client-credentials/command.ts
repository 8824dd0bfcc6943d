/** RFC 6749 §4.4 client_credentials: a service client's id and secret, for a short-lived access token. */
export interface GrantClientCredentials {
  readonly clientId: string;
  readonly secret: string;
}

export const GrantClientCredentials = (fields: GrantClientCredentials): GrantClientCredentials =>
  Object.freeze({ ...fields });
