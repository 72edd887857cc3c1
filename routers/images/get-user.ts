import { z } from "zod";
import { acceptedFromList } from "../../server/images/negotiation.ts";
import {
  loadProfileImage,
  toProfileImage,
  ZAcceptedImageTypes,
  ZProfileImage,
  ZWithData,
} from "../../server/images/profile-image.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";

export const getUserProfileImageRoute = authedProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "GET",
      path: "/users/{id}/profile/image",
      tags: ["images"],
      summary: "A user's profile image, for anyone who may see that user",
    },
    errors: ["USER_NOT_FOUND", "IMAGE_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, withData: ZWithData, accept: ZAcceptedImageTypes }))
  .output(ZProfileImage)
  .query(async ({ ctx, input }) => {
    const withContent = input.withData ?? true;
    const image = await loadProfileImage(
      ctx,
      ctx.user,
      { id: input.id },
      {
        withContent,
        accepted: acceptedFromList(input.accept),
      },
    );
    return toProfileImage(ctx.config, image);
  });
