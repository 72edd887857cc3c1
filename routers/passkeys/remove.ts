import { z } from "zod";
import { deletePasskey, recordPasskeysChanged } from "../../db/passkeys.ts";
import { dropOrphanedBackups } from "../../server/auth/second-factor/registry.ts";
import { requireRecentAuth } from "../../server/auth/step-up.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const removePasskeyRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/me/passkeys/{id}",
      tags: ["passkeys"],
      summary: "Remove one of my passkeys (needs a recent sign-in or step-up)",
      description:
        "A passkey is a second factor: removing it needs a sign-in or step-up within STEP_UP_SECONDS (else 403 STEP_UP_REQUIRED). When it was the user's last second factor, their recovery codes go too.",
    },
    errors: ["NOT_FOUND", "STEP_UP_REQUIRED"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    requireRecentAuth(ctx);
    await ctx.db.transaction().execute(async (tx) => {
      if (!(await deletePasskey(tx, ctx.user.id, input.id))) {
        throw new AppError("NOT_FOUND", "No such passkey");
      }
      await dropOrphanedBackups(tx, ctx.user.id);
      await recordPasskeysChanged(tx, ctx.user.id);
    });
    return success("Passkey removed");
  });
