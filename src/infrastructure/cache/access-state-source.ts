import type { SessionAccessState, UserAccessState } from '../../application/ports/access-state-reader.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';
import type { SecurityConfig } from '../../domain/versions.js';

/** Where the cache fills from: one read per part, so a miss reads only what is missing. */
export interface AccessStateSource {
  securityConfig(): Promise<SecurityConfig>;
  user(userId: string): Promise<UserAccessState | null>;
  session(sessionId: string): Promise<SessionAccessState | null>;
}

/** Reads through the repositories (no transaction: each part is one indexed row). */
export class UnitOfWorkAccessStateSource implements AccessStateSource {
  constructor(private readonly uow: UnitOfWork) {}

  securityConfig(): Promise<SecurityConfig> {
    return this.uow.read((repos) => repos.securityConfig.get());
  }

  async user(userId: string): Promise<UserAccessState | null> {
    const user = await this.uow.read((repos) => repos.users.findById(userId));
    if (user === null) return null;
    return {
      id: user.id,
      role: user.role,
      minTokenVersion: user.minTokenVersion,
      disabledAt: user.disabledAt,
    };
  }

  async session(sessionId: string): Promise<SessionAccessState | null> {
    const session = await this.uow.read((repos) => repos.sessions.findById(sessionId));
    if (session === null) return null;
    return {
      id: session.id,
      userId: session.userId,
      revokedAt: session.revokedAt,
      expiresAt: session.expiresAt,
    };
  }
}
