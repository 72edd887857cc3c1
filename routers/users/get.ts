import { z } from "zod";
import { loadVisibleUser } from "../../server/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { toUser, ZText, ZUser } from "./user-schema.ts";

export const getUserRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{id}",
      tags: ["users"],
      summary: "Get a user by id (all digits) or by username",
    },
    errors: ["USER_NOT_FOUND"],
  })
  .input(
    z.strictObject({
      // Named `id` like the other /users/{id} paths (OpenAPI treats differently named
      // parameters at one position as the same path); it also takes a username.
      id: ZText(64).meta({ description: "A numeric id, or a username", example: "ada_lovelace" }),
    }),
  )
  .output(ZUser)
  .query(async ({ ctx, input }) => {
    const id = /^\d{1,10}$/.test(input.id) ? Number(input.id) : undefined;
    const target =
      id !== undefined && id <= 2147483647 ? { id } : { username: input.id.toLowerCase() };
    return toUser(await loadVisibleUser(ctx.db, ctx.user, target));
  });
