import { findAuthState } from "../../db/auth-state.ts";
import type { Role, UserStatus } from "../../db/database.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";

/** The caller, as stored at the moment of the request. */
export type Caller = {
  id: number;
  role: Role;
  status: UserStatus;
  email: string;
  username: string;
  sessionId: number;
  /** The access token's `auth_time` (seconds since the epoch): see step-up.ts. */
  authTime: number;
  /** The token only allows enrolling a second factor (server/trpc.ts enrolmentProcedure). */
  enrolmentOnly: boolean;
};

// The scheme name is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

export const mayAuthenticate = (status: UserStatus) =>
  status !== "suspended" && status !== "deleted";

/**
 * Verifies the bearer token, then reads the user's and the session's current state (one indexed
 * query, or memory kept exact by change notices: auth-state-cache.ts), so deletion, suspension,
 * password changes and ended sessions cut off tokens at once.
 */
export async function authenticate(ctx: Context): Promise<Caller> {
  const match = BEARER.exec(ctx.request.authorization ?? "");
  if (!match?.[1]) throw new AppError("UNAUTHENTICATED", "A bearer token is required");
  const subject = await ctx.tokens.verifyAccessToken(match[1]);
  const state = await ctx.authStates.read(subject.userId, subject.sessionId, () =>
    findAuthState(ctx.db, subject.userId, subject.sessionId),
  );
  if (
    !state ||
    !mayAuthenticate(state.status) ||
    state.token_version !== subject.tokenVersion ||
    !state.session_expires_at ||
    state.session_expires_at.getTime() <= Date.now()
  ) {
    throw new AppError("UNAUTHENTICATED", "Invalid or expired access token");
  }
  ctx.request.onAuthenticated?.(state.id);
  return {
    id: state.id,
    role: state.role,
    status: state.status,
    email: state.email,
    username: state.username,
    sessionId: subject.sessionId,
    authTime: subject.authTime,
    enrolmentOnly: subject.enrolmentOnly,
  };
}
