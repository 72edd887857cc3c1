import { z } from "zod";
import { authedProcedure } from "../../server/trpc.ts";
import {
  IMAGE_PATHS,
  loadNativeProfileImage,
  ZAcceptedImageTypes,
  ZProfileImage,
  ZWithData,
} from "./image-schema.ts";

export const getProfileImageRoute = authedProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "GET",
      path: IMAGE_PATHS.mine,
      tags: ["images"],
      summary: "My profile image (the bytes, with ETag; 304 on If-None-Match)",
    },
    errors: ["IMAGE_NOT_FOUND"],
  })
  .input(z.strictObject({ withData: ZWithData, accept: ZAcceptedImageTypes }).optional())
  .output(ZProfileImage)
  .query(({ ctx, input }) => loadNativeProfileImage(ctx, ctx.user, "self", input));
