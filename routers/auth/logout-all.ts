import { z } from "zod";
import { revokeUserSessions } from "../../db/sessions.ts";
import { bumpTokenVersion } from "../../db/users.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZDone } from "./token-schema.ts";

export const logoutAllRoute = authedProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/logout-all",
      tags: ["auth"],
      summary: "End every session of the caller, this one included",
    },
  })
  .input(z.strictObject({}).optional())
  .output(ZDone)
  .mutation(async ({ ctx }) => {
    await ctx.db.transaction().execute(async (tx) => {
      await revokeUserSessions(tx, ctx.user.id);
      await bumpTokenVersion(tx, ctx.user.id);
    });
    return { success: true as const };
  });
