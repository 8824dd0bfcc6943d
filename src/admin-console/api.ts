/**
 * The server as the console sees it: one SDK client (its tokens kept per tab) and the
 * shapes of the admin API's answers.
 */
import { createClient, localStorageStorage } from '@tokenwarden/client';

export const client = createClient({
  baseUrl: location.origin,
  // Per tab: closing the tab forgets the admin's tokens.
  storage: localStorageStorage('tokenwarden.admin', sessionStorage),
});

// The answers' shapes come from the schemas the server validates them with (type-only: erased by esbuild).
export type {
  Activity,
  AuditActions,
  AuditEvent,
  AuditVerification,
  GlobalRotationDryRun,
  GlobalRotationResult,
  Page,
  SecurityConfig,
  ServiceClient,
  ServiceClientCreated,
  SigningKey,
  SigningKeyList,
  SigningKeyRetirement,
  SigningKeyRotation,
  User,
  UserRotationDryRun,
  WebhookDelivery,
  WebhookSetup,
} from '../http/wire-types.js';

export const enc = encodeURIComponent;
