import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { hashPasswordForUser } from "../../server/accounts/accounts.ts";
import { findLinkUser, LINK_HOLDERS, spendLinkToken } from "../../server/mail/email-links.ts";
import { writePassword } from "../../server/passwords/replace.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { success, ZLinkToken, ZPassword, ZSuccess } from "../shared-schema.ts";

const INVITED = LINK_HOLDERS.invitation;

export const acceptInvitationRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users/invitation/accept",
      tags: ["users"],
      summary:
        "Accept an invitation with the emailed token and choose a password (→ active, verified)",
      description:
        "A token that is unknown, used, replaced by a newer one or expired, or a user no longer invited, gives 409 CONFLICT. A refused password leaves the link usable.",
      protect: false,
    },
    errors: ["WEAK_PASSWORD", "CONFLICT"],
  })
  .input(z.strictObject({ token: ZLinkToken, password: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    // Policy and hashing first, outside any transaction: a weak password does not spend the link.
    const user = await findLinkUser(ctx.db, "invitation", input.token, INVITED);
    const hash = await hashPasswordForUser(ctx, input.password, user);
    // Spent and used in one transaction: if storing the password fails, the link still works.
    await ctx.db.transaction().execute(async (tx) => {
      const invited = await spendLinkToken(tx, "invitation", input.token, INVITED);
      await writePassword(tx, invited.id, hash, { status: "active", emailVerified: true });
      if (!invited.email_verified) await recordUserEvent(tx, "user.email_verified", invited.id);
    });
    return success("Invitation accepted; you can log in now");
  });
