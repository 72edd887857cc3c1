import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { hashPasswordForUser, reclaimPendingAccount } from "../../server/accounts/accounts.ts";
import { clearLoginFailures } from "../../server/auth/login-guard.ts";
import { findLinkUser, spendLinkToken } from "../../server/mail/email-links.ts";
import { RESETTABLE } from "../../server/mail/reset-requests.ts";
import { writePassword } from "../../server/passwords/replace.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { success, ZLinkToken, ZPassword, ZSuccess } from "../shared-schema.ts";

export const passwordResetConfirmRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/password-reset/confirm",
      tags: ["auth"],
      summary:
        "Set a new password with the emailed reset token (every session and access token ends; the email counts as verified)",
      description:
        "A token that is unknown, used, replaced by a newer one or expired gives 409 CONFLICT. A refused password leaves the link usable. On an account not yet verified (pending) the link proves the address: the account becomes active and verified, and what its signed-in user added (profile image, pending email change) is removed, since whoever signed up may not have owned the address.",
      protect: false,
    },
    errors: ["WEAK_PASSWORD", "CONFLICT"],
  })
  .input(z.strictObject({ token: ZLinkToken, newPassword: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    // Policy and hashing first, outside any transaction: a weak password does not spend the link.
    const user = await findLinkUser(ctx.db, "password_reset", input.token, RESETTABLE);
    const hash = await hashPasswordForUser(ctx, input.newPassword, user);
    // Spent and used in one transaction: if storing the password fails, the link still works.
    const owner = await ctx.db.transaction().execute(async (tx) => {
      const spent = await spendLinkToken(tx, "password_reset", input.token, RESETTABLE);
      if (spent.status === "pending") await reclaimPendingAccount(tx, spent.id);
      // The link reached the account's mailbox, which proves it as a verification link would:
      // a pending (or invited) user becomes active and verified.
      await writePassword(tx, spent.id, hash, {
        emailVerified: true,
        ...(spent.status !== "active" && { status: "active" }),
      });
      if (!spent.email_verified) await recordUserEvent(tx, "user.email_verified", spent.id);
      return spent;
    });
    // The mailbox is proven: the account lock that guessers may have caused is lifted.
    await clearLoginFailures(ctx, owner.email);
    return success("Password updated; every session has ended");
  });
