import { removeProfileImage } from "../../server/images/profile-image.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZNoInput, ZSuccess } from "../shared-schema.ts";
import { IMAGE_PATHS } from "./image-schema.ts";

export const deleteProfileImageRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: IMAGE_PATHS.mine,
      tags: ["images"],
      summary: "Delete my profile image",
    },
    errors: ["IMAGE_NOT_FOUND"],
  })
  .input(ZNoInput)
  .output(ZSuccess)
  .mutation(async ({ ctx }) => {
    await removeProfileImage(ctx, ctx.user);
    return success("Profile image deleted");
  });
