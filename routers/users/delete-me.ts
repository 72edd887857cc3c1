import { z } from "zod";
import { countLiveAppAdmins } from "../../db/users.ts";
import { confirmOwnDeletion } from "../../server/accounts/confirm-deletion.ts";
import { deleteAccount } from "../../server/accounts/delete-account.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZPassword, ZSuccess } from "../shared-schema.ts";

export const deleteMeRoute = authedProcedure
  .meta({
    bodyOnDelete: true,
    openapi: {
      method: "DELETE",
      path: "/users/me",
      tags: ["users"],
      summary: "Delete my account (soft, like an admin delete; every session ends)",
      description:
        "Needs a sign-in or step-up within STEP_UP_SECONDS; without one, the body `{currentPassword}` does instead for a user without a second factor (else 403 STEP_UP_REQUIRED). A password that is sent is checked. The account is soft-deleted at once (its email and username are free again) and purged for good PURGE_DELETED_AFTER_DAYS later, unless an admin restores it before. The last AppAdmin cannot delete their account (409).",
    },
    errors: [
      "INVALID_CURRENT_PASSWORD",
      "STEP_UP_REQUIRED",
      "RATE_LIMITED",
      "CONFLICT",
      "PAYLOAD_TOO_LARGE",
    ],
  })
  .input(z.strictObject({ currentPassword: ZPassword.optional() }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    await confirmOwnDeletion(ctx, input);
    await ctx.db.transaction().execute(async (tx) => {
      if (ctx.user.role === "AppAdmin" && (await countLiveAppAdmins(tx, { lock: true })) <= 1) {
        throw new AppError("CONFLICT", "The last AppAdmin cannot delete their account");
      }
      await deleteAccount(tx, ctx.user, ctx.user.id, "user.delete.self");
    });
    return success("Account deleted");
  });
