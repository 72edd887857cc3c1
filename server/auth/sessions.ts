import { createHmac } from "node:crypto";
import type { Transaction } from "kysely";
import type { Database } from "../../db/database.ts";
import { recordUserEvent } from "../../db/events.ts";
import {
  addRefreshToken,
  createLoginSession,
  findRefreshToken,
  isFreshlyRotated,
  markSessionAuthenticated,
  revokeSession,
  revokeUserSessions,
  spendRefreshToken,
  touchSession,
} from "../../db/sessions.ts";
import { bumpTokenVersion, findUserById } from "../../db/users.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { mayAuthenticate } from "./authenticate.ts";
import { hashToken, randomToken } from "./opaque-tokens.ts";
import { authTimeOf } from "./tokens.ts";

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

export type AccessTokenOnly = { accessToken: string; tokenType: "Bearer"; expiresIn: number };

export type TokenPair = AccessTokenOnly & { refreshToken: string };

type SessionUser = { id: number; token_version: number };

const invalidRefresh = () => new AppError("UNAUTHENTICATED", "Invalid or expired refresh token");

/**
 * Starts a session (a refresh-token family) for a user who just proved who they are, and
 * records the login.
 */
export async function startSession(ctx: Context, user: SessionUser): Promise<TokenPair> {
  const refreshToken = randomToken();
  const session = await ctx.db.transaction().execute(async (tx) => {
    const created = await createLoginSession(tx, {
      userId: user.id,
      userAgent: ctx.request.userAgent,
      ip: ctx.request.ip,
      ttlSeconds: ctx.config.REFRESH_TOKEN_TTL,
      refreshTokenHash: hashToken(refreshToken),
    });
    await recordUserEvent(tx, "user.signed_in", user.id);
    return created;
  });
  // Whatever was written for this user before (signup, verification, reset), the new session's
  // first reads see it: they stay on the primary until the replicas replayed it (any process).
  await ctx.reads.wrote(user.id);
  const access = await accessToken(ctx, user, session.id, authTimeOf(session.authenticatedAt));
  return { ...access, refreshToken };
}

/**
 * A session good only for enrolling a second factor (REQUIRE_SECOND_FACTOR_FOR_ADMINS): one
 * access token with the `enrol` claim, living ACCESS_TOKEN_TTL, and no refresh token (its
 * session's only one is random and never shown), so it cannot outlive that token.
 */
export async function startEnrolmentSession(
  ctx: Context,
  user: SessionUser,
): Promise<AccessTokenOnly> {
  const session = await createLoginSession(ctx.db, {
    userId: user.id,
    userAgent: ctx.request.userAgent,
    ip: ctx.request.ip,
    ttlSeconds: ctx.config.ACCESS_TOKEN_TTL,
    refreshTokenHash: hashToken(randomToken()),
  });
  return accessToken(ctx, user, session.id, authTimeOf(session.authenticatedAt), true);
}

/**
 * Step-up: the caller proved who they are again in this session, so its `authenticated_at` moves
 * to now (later refreshes keep it) and a new access token carries the new `auth_time`.
 */
export async function renewAuthentication(
  ctx: Context,
  caller: { id: number; sessionId: number },
): Promise<AccessTokenOnly> {
  const authenticatedAt = await markSessionAuthenticated(ctx.db, caller.sessionId, caller.id);
  const user = await findUserById(ctx.db, caller.id);
  if (!authenticatedAt || !user || !mayAuthenticate(user.status)) {
    throw new AppError("UNAUTHENTICATED", "Invalid or expired access token");
  }
  return accessToken(ctx, user, caller.sessionId, authTimeOf(authenticatedAt));
}

/**
 * The token that replaces `presented` in its session: an HMAC under a key derived from the
 * signing key, so concurrent refreshes with one token all compute the same successor, and no
 * successor is ever stored (only its hash, like every refresh token). Without the key it is as
 * unguessable as a random token; a database dump reveals none.
 */
const successorOf = (ctx: Context, sessionId: number, presented: string): string =>
  createHmac("sha256", ctx.tokens.refreshKey)
    .update(`${sessionId}.${presented}`)
    .digest("base64url");

/**
 * Rotates a refresh token (RFC 9700): the presented token is spent and its successor issued in
 * the same family. Presenting a spent token again means it was stolen or replayed, so the whole
 * family is revoked, except within REFRESH_REUSE_GRACE_SECONDS of the rotation while the
 * successor is still unused: two tabs refreshing at once both get the same successor pair.
 */
export async function rotateSession(ctx: Context, presented: string): Promise<TokenPair> {
  const tokenHash = hashToken(presented);
  const found = await findRefreshToken(ctx.db, tokenHash);
  if (!found?.session_active) throw invalidRefresh();
  const refreshToken = successorOf(ctx, found.session_id, presented);
  const successorHash = hashToken(refreshToken);
  const rotated = await ctx.db.transaction().execute(async (tx) => {
    if (!(await spendRefreshToken(tx, tokenHash))) return false;
    await addRefreshToken(tx, found.session_id, successorHash);
    await touchSession(tx, found.session_id);
    return true;
  });
  const benignRace =
    !rotated &&
    (await isFreshlyRotated(ctx.db, {
      tokenHash,
      successorHash,
      sessionId: found.session_id,
      graceSeconds: ctx.config.REFRESH_REUSE_GRACE_SECONDS,
    }));
  if (!rotated && !benignRace) {
    await revokeSession(ctx.db, found.session_id, found.user_id);
    ctx.log.warn({ sessionId: found.session_id }, "refresh token reuse: session revoked");
    throw invalidRefresh();
  }
  const user = await findUserById(ctx.db, found.user_id);
  if (!user || !mayAuthenticate(user.status)) {
    await revokeSession(ctx.db, found.session_id, found.user_id);
    throw invalidRefresh();
  }
  const access = await accessToken(ctx, user, found.session_id, authTimeOf(found.authenticated_at));
  return { ...access, refreshToken };
}

async function accessToken(
  ctx: Context,
  user: SessionUser,
  sessionId: number,
  authTime: number,
  enrolmentOnly = false,
): Promise<AccessTokenOnly> {
  const signed = await ctx.tokens.signAccessToken({
    userId: user.id,
    tokenVersion: user.token_version,
    sessionId,
    authTime,
    enrolmentOnly,
  });
  return { accessToken: signed.accessToken, tokenType: "Bearer", expiresIn: signed.expiresIn };
}
