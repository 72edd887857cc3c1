import type { Transaction } from "kysely";
import type { Database } from "../../db/database.ts";
import {
  addRefreshToken,
  createLoginSession,
  findRefreshToken,
  revokeSession,
  revokeUserSessions,
  spendRefreshToken,
  touchSession,
} from "../../db/sessions.ts";
import { bumpTokenVersion, findUserById } from "../../db/users.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors.ts";
import { mayAuthenticate } from "./authenticate.ts";
import { hashToken, randomToken } from "./opaque-tokens.ts";

/**
 * Ends every access token issued so far and every session (but the one to keep), in the
 * caller's transaction: what password changes, suspension, deletion and logout-all share.
 */
export async function cutOffAccess(
  tx: Transaction<Database>,
  userId: number,
  keepSessionId?: number,
): Promise<void> {
  await revokeUserSessions(tx, userId, keepSessionId);
  await bumpTokenVersion(tx, userId);
}

export type TokenPair = {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  refreshToken: string;
};

const invalidRefresh = () => new AppError("UNAUTHENTICATED", "Invalid or expired refresh token");

/**
 * Starts a session (a refresh-token family) for a user who just proved who they are, and
 * records the login.
 */
export async function startSession(
  ctx: Context,
  user: { id: number; token_version: number },
): Promise<TokenPair> {
  const refreshToken = randomToken();
  const sessionId = await createLoginSession(ctx.db, {
    userId: user.id,
    userAgent: ctx.request.userAgent,
    ip: ctx.request.ip,
    ttlSeconds: ctx.config.REFRESH_TOKEN_TTL,
    refreshTokenHash: hashToken(refreshToken),
  });
  return pair(ctx, user, sessionId, refreshToken);
}

/**
 * Rotates a refresh token (RFC 9700): the presented token is spent and a new one issued in the
 * same family. Presenting a spent token again means it was stolen or replayed, so the whole
 * family is revoked.
 */
export async function rotateSession(ctx: Context, presented: string): Promise<TokenPair> {
  const tokenHash = hashToken(presented);
  const found = await findRefreshToken(ctx.db, tokenHash);
  if (!found?.session_active) throw invalidRefresh();
  const refreshToken = randomToken();
  const rotated = await ctx.db.transaction().execute(async (tx) => {
    if (!(await spendRefreshToken(tx, tokenHash))) return false;
    await addRefreshToken(tx, found.session_id, hashToken(refreshToken));
    await touchSession(tx, found.session_id);
    return true;
  });
  if (!rotated) {
    await revokeSession(ctx.db, found.session_id, found.user_id);
    ctx.log.warn({ sessionId: found.session_id }, "refresh token reuse: session revoked");
    throw invalidRefresh();
  }
  const user = await findUserById(ctx.db, found.user_id);
  if (!user || !mayAuthenticate(user.status)) {
    await revokeSession(ctx.db, found.session_id, found.user_id);
    throw invalidRefresh();
  }
  return pair(ctx, user, found.session_id, refreshToken);
}

async function pair(
  ctx: Context,
  user: { id: number; token_version: number },
  sessionId: number,
  refreshToken: string,
): Promise<TokenPair> {
  const { accessToken, expiresIn } = await ctx.tokens.signAccessToken({
    userId: user.id,
    tokenVersion: user.token_version,
    sessionId,
  });
  return { accessToken, tokenType: "Bearer", expiresIn, refreshToken };
}
