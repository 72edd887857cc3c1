import { z } from "zod";
import { rotateSession } from "../../server/auth/sessions.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZRefreshToken, ZTokenPair } from "./token-schema.ts";

export const refreshRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/refresh",
      tags: ["auth"],
      summary: "Exchange a refresh token for a new pair (the old one is spent)",
      protect: false,
    },
    errors: ["UNAUTHENTICATED"],
  })
  .input(z.strictObject({ refreshToken: ZRefreshToken }))
  .output(ZTokenPair)
  .mutation(({ ctx, input }) => rotateSession(ctx, input.refreshToken));
