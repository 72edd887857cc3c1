import { z } from "zod";
import { deletePasskey, recordPasskeysChanged } from "../../db/passkeys.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const removePasskeyRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/me/passkeys/{id}",
      tags: ["passkeys"],
      summary: "Remove one of my passkeys",
    },
    errors: ["NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    // Step-up (issue 21): removing a factor needs a recent sign-in. When the mfa branch is merged,
    // its check goes here, before the delete, and its error code joins `errors` above.
    const removed = await ctx.db.transaction().execute(async (tx) => {
      if (!(await deletePasskey(tx, ctx.user.id, input.id))) return false;
      await recordPasskeysChanged(tx, ctx.user.id);
      return true;
    });
    if (!removed) {
      throw new AppError("NOT_FOUND", "No such passkey");
    }
    return success("Passkey removed");
  });
