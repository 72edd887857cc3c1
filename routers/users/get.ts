import { z } from "zod";
import { loadVisibleUser } from "../../server/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { toUser, ZUser } from "./user-schema.ts";

export const getUserRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{idOrName}",
      tags: ["users"],
      summary: "Get a user by id (all digits) or by username",
    },
    errors: ["VALIDATION_ERROR", "UNAUTHENTICATED", "USER_NOT_FOUND"],
  })
  .input(
    z.strictObject({
      idOrName: z.string().min(1).max(64).meta({ example: "123" }),
    }),
  )
  .output(ZUser)
  .query(async ({ ctx, input }) => {
    const id = /^\d{1,10}$/.test(input.idOrName) ? Number(input.idOrName) : undefined;
    const target =
      id !== undefined && id <= 2147483647 ? { id } : { username: input.idOrName.toLowerCase() };
    return toUser(await loadVisibleUser(ctx.db, ctx.user, target));
  });
