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
        "The body is JSON `{currentPassword}`. The account is soft-deleted at once (its email and username are free again) and purged for good PURGE_DELETED_AFTER_DAYS later, unless an admin restores it before. The last AppAdmin cannot delete their account (409).",
    },
    errors: ["INVALID_CURRENT_PASSWORD", "RATE_LIMITED", "CONFLICT", "PAYLOAD_TOO_LARGE"],
  })
  .input(z.strictObject({ currentPassword: ZPassword }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    await confirmOwnDeletion(ctx, ctx.user.id, input);
    await ctx.db.transaction().execute(async (tx) => {
      if (ctx.user.role === "AppAdmin" && (await countLiveAppAdmins(tx, { lock: true })) <= 1) {
        throw new AppError("CONFLICT", "The last AppAdmin cannot delete their account");
      }
      await deleteAccount(tx, ctx.user, ctx.user.id, "user.delete.self");
    });
    return success("Account deleted");
  });
