import { z } from "zod";
import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { idOfUserRef, toUser, ZUser, ZUserRef } from "./user-schema.ts";

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
      id: ZUserRef.meta({ description: "A numeric id, or a username", example: "ada_lovelace" }),
    }),
  )
  .output(ZUser)
  .query(async ({ ctx, input }) => {
    const id = idOfUserRef(input.id);
    const target = id !== undefined ? { id } : { username: input.id.toLowerCase() };
    return toUser(await loadVisibleUser(ctx.reader, ctx.user, target));
  });
