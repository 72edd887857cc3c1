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

export const getProfileImageRoute = authedProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "GET",
      path: "/users/profile/image",
      tags: ["images"],
      summary: "My profile image (the bytes, with ETag; 304 on If-None-Match)",
    },
    errors: ["IMAGE_NOT_FOUND"],
  })
  .input(z.strictObject({ withData: ZWithData, accept: ZAcceptedImageTypes }).optional())
  .output(ZProfileImage)
  .query(async ({ ctx, input }) => {
    const withContent = input?.withData ?? true;
    return toProfileImage(
      ctx.config,
      await loadProfileImage(ctx, ctx.user, "self", {
        withContent,
        accepted: acceptedFromList(input?.accept),
      }),
    );
  });
