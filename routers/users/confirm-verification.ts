import { z } from "zod";
import { discardEmailTokens, spendEmailToken } from "../../db/email-tokens.ts";
import { recordUserEvent } from "../../db/events.ts";
import { findUserByEmail, findUserById, type UserRow, updateUser } from "../../db/users.ts";
import { refuseTaken, takenError } from "../../server/accounts/taken.ts";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { invalidLink, queueEmailChangedNotice } from "../../server/mail/email-links.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { success, ZLinkToken, ZSuccess } from "../shared-schema.ts";

export const confirmVerificationRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/verification/confirm",
      tags: ["users"],
      summary:
        "Confirm an email address with the emailed token: a signup's (pending → active) or a new address after an email change (the change applies now; the old address gets a notice)",
      description:
        "A token that is unknown, used, replaced by a newer one or expired gives 409 CONFLICT.",
      protect: false,
    },
    errors: ["CONFLICT", "EMAIL_TAKEN"],
  })
  .input(z.strictObject({ token: ZLinkToken }))
  .output(ZSuccess)
  .mutation(({ ctx, input }) => {
    const tokenHash = hashToken(input.token);
    // Spending and applying are one transaction: an email that turns out taken leaves the link
    // usable, and the notice is queued only if the change commits.
    return ctx.db.transaction().execute(async (tx) => {
      const verification = await spendEmailToken(tx, "verification", tokenHash);
      if (verification) {
        const user = await findUserById(tx, verification.user_id);
        if (!user || user.status === "deleted") throw invalidLink();
        await updateUser(tx, user.id, {
          email_verified: true,
          ...(user.status === "pending" && { status: "active" }),
        });
        await recordUserEvent(tx, "user.email_verified", user.id);
        return success("Your email address is confirmed");
      }

      const change = await spendEmailToken(tx, "email_change", tokenHash);
      if (!change?.new_email) throw invalidLink();
      const user = await findUserById(tx, change.user_id);
      if (!user || !mayChangeEmail(user)) throw invalidLink();
      const holder = await findUserByEmail(tx, change.new_email);
      if (holder && holder.id !== user.id) {
        throw takenError("email");
      }
      // The unique index settles a race with a signup.
      await refuseTaken(
        updateUser(tx, user.id, {
          email: change.new_email,
          email_verified: true,
          // Confirming the new address proves control of a mailbox, as a signup's link does.
          ...(user.status === "pending" && { status: "active" }),
        }),
      );
      // Links mailed to the old address stop working.
      await discardEmailTokens(tx, user.id, ["verification", "password_reset", "email_change"]);
      await recordUserEvent(tx, "user.updated", user.id, ["email", "email_verified", "status"]);
      await queueEmailChangedNotice(tx, ctx.config, {
        user,
        oldEmail: user.email,
        newEmail: change.new_email,
      });
      return success("Your new email address is confirmed");
    });
  });

const mayChangeEmail = (user: UserRow) => user.status === "active" || user.status === "pending";
