import { z } from "zod";
import { removeProfileImage } from "../../server/images/profile-image.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZSuccess } from "../users/user-schema.ts";

export const deleteProfileImageRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/profile/image",
      tags: ["images"],
      summary: "Delete my profile image",
    },
    errors: ["IMAGE_NOT_FOUND"],
  })
  .input(z.strictObject({}).optional())
  .output(ZSuccess)
  .mutation(async ({ ctx }) => {
    await removeProfileImage(ctx, ctx.user);
    return success("Profile image deleted");
  });
