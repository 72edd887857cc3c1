import { z } from "zod";

export const ZTokenPair = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z
      .number()
      .int()
      .meta({ description: "Seconds until the access token expires", example: 900 }),
    refreshToken: z.string(),
  })
  .meta({ id: "TokenPair" });

export const ZRefreshToken = z.string().min(1).max(200);
