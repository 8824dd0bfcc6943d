import { ChangePasswordHandler } from './commands/change-password/handler.js';
import { CreateServiceClientHandler } from './commands/create-service-client/handler.js';
import { CreateSessionHandler } from './commands/create-session/handler.js';
import { DisableUserHandler } from './commands/disable-user/handler.js';
import { EnableUserHandler } from './commands/enable-user/handler.js';
import { GrantClientCredentialsHandler } from './commands/grant-client-credentials/handler.js';
import { PromoteUserHandler } from './commands/promote-user/handler.js';
import { RefreshTokensHandler } from './commands/refresh-tokens/handler.js';
import { RegisterUserHandler } from './commands/register-user/handler.js';
import { RetireSigningKeyHandler } from './commands/retire-signing-key/handler.js';
import { RevokeAllSessionsHandler } from './commands/revoke-all-sessions/handler.js';
import { RevokeServiceClientHandler } from './commands/revoke-service-client/handler.js';
import { RevokeSessionHandler } from './commands/revoke-session/handler.js';
import { RevokeTokenHandler } from './commands/revoke-token/handler.js';
import { RotateSigningKeyHandler } from './commands/rotate-signing-key/handler.js';
import { TriggerGlobalTokenRotationHandler } from './commands/trigger-global-token-rotation/handler.js';
import { TriggerUserTokenRotationHandler } from './commands/trigger-user-token-rotation/handler.js';
import { UpdateSecurityConfigHandler } from './commands/update-security-config/handler.js';
import type { AppContext } from './context.js';
import { AuditTrailQuery } from './queries/audit-trail/query.js';
import { AuthenticateAccessTokenQuery } from './queries/authenticate-access-token/query.js';
import { AuthenticateClientTokenQuery } from './queries/authenticate-client-token/query.js';
import { AuthenticateServiceClientQuery } from './queries/authenticate-service-client/query.js';
import { FindUserQuery } from './queries/find-user/query.js';
import { GetRevocationsQuery } from './queries/get-revocations/query.js';
import { GetRotationActivityQuery } from './queries/get-rotation-activity/query.js';
import { GetSecurityConfigQuery } from './queries/get-security-config/query.js';
import { GetUserQuery } from './queries/get-user/query.js';
import { IntrospectTokenQuery } from './queries/introspect-token/query.js';
import { ListAuditEventsQuery } from './queries/list-audit-events/query.js';
import { ListServiceClientsQuery } from './queries/list-service-clients/query.js';
import { ListSessionsQuery } from './queries/list-sessions/query.js';
import { ListSigningKeysQuery } from './queries/list-signing-keys/query.js';
import { ListUsersQuery } from './queries/list-users/query.js';
import { PreviewGlobalRotationQuery } from './queries/preview-global-rotation/query.js';
import { PreviewUserRotationQuery } from './queries/preview-user-rotation/query.js';

/** Every command handler and query, built over one context; HTTP and CLI both drive these. */
export function createServices(ctx: AppContext) {
  return {
    registerUser: new RegisterUserHandler(ctx),
    createSession: new CreateSessionHandler(ctx),
    refreshTokens: new RefreshTokensHandler(ctx),
    revokeSession: new RevokeSessionHandler(ctx),
    revokeAllSessions: new RevokeAllSessionsHandler(ctx),
    changePassword: new ChangePasswordHandler(ctx),
    triggerGlobalTokenRotation: new TriggerGlobalTokenRotationHandler(ctx),
    triggerUserTokenRotation: new TriggerUserTokenRotationHandler(ctx),
    previewGlobalRotation: new PreviewGlobalRotationQuery(ctx),
    previewUserRotation: new PreviewUserRotationQuery(ctx),
    updateSecurityConfig: new UpdateSecurityConfigHandler(ctx),
    rotateSigningKey: new RotateSigningKeyHandler(ctx),
    retireSigningKey: new RetireSigningKeyHandler(ctx),
    listSigningKeys: new ListSigningKeysQuery(ctx),
    disableUser: new DisableUserHandler(ctx),
    enableUser: new EnableUserHandler(ctx),
    promoteUser: new PromoteUserHandler(ctx),
    getSecurityConfig: new GetSecurityConfigQuery(ctx),
    listSessions: new ListSessionsQuery(ctx),
    listAuditEvents: new ListAuditEventsQuery(ctx),
    auditTrail: new AuditTrailQuery(ctx),
    getRotationActivity: new GetRotationActivityQuery(ctx),
    listUsers: new ListUsersQuery(ctx),
    getUser: new GetUserQuery(ctx),
    findUser: new FindUserQuery(ctx),
    authenticateAccessToken: new AuthenticateAccessTokenQuery(ctx),
    createServiceClient: new CreateServiceClientHandler(ctx),
    revokeServiceClient: new RevokeServiceClientHandler(ctx),
    listServiceClients: new ListServiceClientsQuery(ctx),
    authenticateServiceClient: new AuthenticateServiceClientQuery(ctx),
    getRevocations: new GetRevocationsQuery(ctx),
    grantClientCredentials: new GrantClientCredentialsHandler(ctx),
    authenticateClientToken: new AuthenticateClientTokenQuery(ctx),
    introspectToken: new IntrospectTokenQuery(ctx),
    revokeToken: new RevokeTokenHandler(ctx),
  } as const;
}

export type Services = ReturnType<typeof createServices>;
