import { requireCurrentPassword } from "../auth/current-password.ts";
import type { Context } from "../context.ts";

/** What the caller proves to delete their own account. */
export type DeletionProof = { currentPassword: string };

/**
 * The one check before a person deletes their own account: today their current password (with
 * its rate limit and login-lock accounting). Step-up authentication replaces this function's
 * body, and nothing else, when it exists.
 */
export async function confirmOwnDeletion(
  ctx: Pick<Context, "db" | "limits" | "config" | "request" | "hashing">,
  userId: number,
  proof: DeletionProof,
): Promise<void> {
  await requireCurrentPassword(ctx, userId, proof.currentPassword);
}
