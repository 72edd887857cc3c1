import { z } from "zod";
import { authedProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import {
  IMAGE_PATHS,
  loadNativeProfileImage,
  ZAcceptedImageTypes,
  ZProfileImage,
  ZWithData,
} from "./image-schema.ts";

export const getUserProfileImageRoute = authedProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "GET",
      path: IMAGE_PATHS.ofUser,
      tags: ["images"],
      summary: "A user's profile image, for anyone who may see that user",
    },
    errors: ["USER_NOT_FOUND", "IMAGE_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId, withData: ZWithData, accept: ZAcceptedImageTypes }))
  .output(ZProfileImage)
  .query(({ ctx, input }) => loadNativeProfileImage(ctx, ctx.user, { id: input.id }, input));
