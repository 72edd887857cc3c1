import { z } from "zod";
import { findRefreshToken, revokeSession } from "../../db/sessions.ts";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZDone } from "../shared-schema.ts";
import { ZRefreshToken } from "./token-schema.ts";

export const logoutRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/logout",
      tags: ["auth"],
      summary: "End the session the refresh token belongs to",
      protect: false,
    },
  })
  .input(z.strictObject({ refreshToken: ZRefreshToken }))
  .output(ZDone)
  .mutation(async ({ ctx, input }) => {
    // The same answer whether or not the token was known: logout reveals nothing.
    const found = await findRefreshToken(ctx.db, hashToken(input.refreshToken));
    if (found) await revokeSession(ctx.db, found.session_id, found.user_id);
    return { success: true as const };
  });
