import { z } from "zod";
import { AppError } from "../../server/errors/api-errors.ts";
import { MAX_IMAGE_BYTES_CEILING } from "../../server/images/processing.ts";
import { storeProfileImage } from "../../server/images/profile-image.ts";
import { authedProcedure } from "../../server/trpc.ts";
import {
  base64Length,
  IMAGE_PATHS,
  toProfileImageUpload,
  ZProfileImageUpload,
} from "./image-schema.ts";

const decodedLength = (base64: string) =>
  (base64.length / 4) * 3 - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);

export const uploadProfileImageRoute = authedProcedure
  .meta({
    rawRoute: true,
    openapi: {
      method: "POST",
      path: IMAGE_PATHS.mine,
      tags: ["images"],
      summary: "Upload my profile image (JPEG, PNG or WebP; stored re-encoded)",
      description:
        "REST: `multipart/form-data` with one file part (conventionally `image`). Native tRPC: `{imageBase64}`. The image is judged by its bytes, oriented by EXIF, fitted inside 512×512, stripped of metadata and stored as WebP and as JPEG (PNG when it has transparency), both derived once here; GET serves the one the client accepts.",
    },
    errors: ["PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "SERVICE_UNAVAILABLE"],
  })
  .input(
    z.strictObject({
      // The schema's bound is the highest limit the setting may take; the configured
      // MAX_IMAGE_BYTES is checked below, before decoding, as a 413.
      imageBase64: z
        .string()
        .min(4)
        .max(base64Length(MAX_IMAGE_BYTES_CEILING))
        // A flat pattern and a length check: a grouped `(?:…{4})*` overflows the regex stack
        // on megabytes of input.
        .regex(/^[A-Za-z0-9+/]*={0,2}$/, "Not base64")
        .refine((value) => value.length % 4 === 0, "Not base64 (padded to a multiple of 4)"),
    }),
  )
  .output(ZProfileImageUpload)
  .mutation(async ({ ctx, input }) => {
    const { maxBytes } = ctx.images.settings;
    if (decodedLength(input.imageBase64) > maxBytes) {
      throw new AppError("PAYLOAD_TOO_LARGE", `The image is larger than ${maxBytes} bytes`);
    }
    const stored = await storeProfileImage(ctx, ctx.user, Buffer.from(input.imageBase64, "base64"));
    return toProfileImageUpload(ctx.config, stored);
  });
