import { z } from "zod";
import { revokeSession } from "../../db/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "../shared-schema.ts";

export const endSessionRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/me/sessions/{id}",
      tags: ["auth"],
      summary: "End one of my sessions (its tokens stop working at once)",
    },
    errors: ["NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const result = await revokeSession(ctx.db, input.id, ctx.user.id);
    if (result.numUpdatedRows === 0n) throw new AppError("NOT_FOUND", "No such live session");
    return success("Session ended");
  });
