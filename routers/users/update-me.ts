import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { updateUser } from "../../db/users.ts";
import { refuseTaken } from "../../server/accounts/taken.ts";
import { userNotFound } from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { toUser, ZName, ZUser, ZUsername } from "./user-schema.ts";

export const ZProfilePatch = z.strictObject({
  firstName: ZName.optional(),
  lastName: ZName.optional(),
  username: ZUsername.optional(),
});

export const updateMeRoute = authedProcedure
  .meta({
    openapi: { method: "PATCH", path: "/users/me", tags: ["users"], summary: "Edit my profile" },
    errors: ["USERNAME_TAKEN"],
  })
  .input(ZProfilePatch)
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    const user = await ctx.db.transaction().execute(async (tx) => {
      const updated = await refuseTaken(
        updateUser(tx, ctx.user.id, {
          first_name: input.firstName,
          last_name: input.lastName,
          username: input.username,
        }),
      );
      if (updated && Object.keys(input).length > 0)
        await recordUserEvent(tx, "user.updated", updated.id, Object.keys(input));
      return updated;
    });
    if (!user) throw userNotFound();
    return toUser(user);
  });
