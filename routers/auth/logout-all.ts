import { cutOffAccess } from "../../server/auth/sessions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZDone, ZNoInput } from "../shared-schema.ts";

export const logoutAllRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/logout-all",
      tags: ["auth"],
      summary: "End every session of the caller, this one included",
    },
  })
  .input(ZNoInput)
  .output(ZDone)
  .mutation(async ({ ctx }) => {
    await ctx.db.transaction().execute((tx) => cutOffAccess(tx, ctx.user.id));
    return { success: true as const };
  });
