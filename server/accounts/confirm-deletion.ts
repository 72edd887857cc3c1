import type { Caller } from "../auth/authenticate.ts";
import { requireCurrentPassword } from "../auth/current-password.ts";
import { listFactorKinds } from "../auth/second-factor/registry.ts";
import { requireRecentAuth } from "../auth/step-up.ts";
import type { Context } from "../context.ts";

/** What the caller proves to delete their own account, besides their access token. */
export type DeletionProof = { currentPassword?: string | undefined };

type DeletionContext = Pick<Context, "db" | "limits" | "config" | "request" | "hashing"> & {
  user: Caller;
};

const isRecent = (ctx: DeletionContext) =>
  Date.now() / 1000 - ctx.user.authTime <= ctx.config.STEP_UP_SECONDS;

/**
 * The one check before a person deletes their own account: a sign-in (or step-up) within
 * STEP_UP_SECONDS, or else, as before step-up existed, their current password, but only for a
 * user without a second factor (with one, the password alone proves too little, as in
 * POST /auth/step-up). A password that is sent is checked even when the sign-in is recent, so a
 * wrong one is never ignored. Otherwise 403 STEP_UP_REQUIRED.
 */
export async function confirmOwnDeletion(
  ctx: DeletionContext,
  proof: DeletionProof,
): Promise<void> {
  const { currentPassword } = proof;
  if (currentPassword !== undefined) {
    const passwordSuffices =
      isRecent(ctx) || (await listFactorKinds(ctx.db, ctx.user.id)).length === 0;
    if (passwordSuffices) {
      await requireCurrentPassword(ctx, ctx.user.id, currentPassword);
      return;
    }
  }
  requireRecentAuth(ctx);
}
