import { z } from "zod";
import type { Caller } from "../../server/auth/authenticate.ts";
import type { Context } from "../../server/context.ts";
import { acceptedFromList } from "../../server/images/negotiation.ts";
import { PROFILE_IMAGE_TYPES, type ProfileImageType } from "../../server/images/processing.ts";
import {
  loadProfileImage,
  quotedEtag,
  type ServedProfileImage,
  type StoredProfileImage,
} from "../../server/images/profile-image.ts";
import { REST_PREFIX } from "../../server/trpc.ts";

/**
 * The image operations' paths, written once: the procedures' meta, the raw routes that serve
 * them (server/http/image-routes.ts), their OpenAPI (server/http/image-openapi.ts) and the image
 * URL all read them here.
 */
export const IMAGE_PATHS = {
  /** The caller's own image: upload, get, delete. */
  mine: "/users/profile/image",
  /** Any visible user's image: get. */
  ofUser: "/users/{id}/profile/image",
} as const;

/** The length of the base64 of `bytes` bytes (padded). */
export const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

export const ZProfileImageUpload = z
  .object({
    imageUrl: z.url().meta({ example: "https://api.example.com/api/users/42/profile/image" }),
    uploadedAt: z.iso.datetime(),
  })
  .meta({ id: "ProfileImageUpload" });

export const ZProfileImage = z
  .object({
    contentType: z.enum(PROFILE_IMAGE_TYPES).meta({ example: "image/jpeg" }),
    etag: z.string().meta({
      description: "The strong ETag the REST GET sends for this variant, quotes included",
    }),
    width: z.number().int(),
    height: z.number().int(),
    byteSize: z.number().int(),
    uploadedAt: z.iso.datetime(),
    imageUrl: z.url(),
    dataBase64: z
      .string()
      .optional()
      .meta({ description: "The image bytes, base64; left out when `withData` is false" }),
  })
  .meta({ id: "ProfileImage" });

/**
 * For native callers only (REST negotiates by the Accept header): the image types the caller can
 * decode. WebP only when listed; otherwise, or when left out, the JPEG/PNG fallback.
 */
export const ZAcceptedImageTypes = z
  .array(z.enum(PROFILE_IMAGE_TYPES))
  .max(PROFILE_IMAGE_TYPES.length)
  .optional()
  .meta({
    description:
      "Image types you can decode; WebP is sent only when listed, else JPEG (PNG with transparency)",
  });

/** For native callers only: the REST GETs always answer with the bytes themselves. */
export const ZWithData = z
  .boolean()
  .optional()
  .meta({ description: "Include the bytes as `dataBase64` (default true)" });

export type TProfileImageUpload = z.infer<typeof ZProfileImageUpload>;
export type TProfileImage = z.infer<typeof ZProfileImage>;
type TNativeImageRequest = {
  withData?: boolean | undefined;
  accept?: ProfileImageType[] | undefined;
};

/** Where the REST door serves a user's image: the link both doors hand out. */
const profileImageUrl = (config: Context["config"], userId: number) =>
  `${config.PUBLIC_URL}${REST_PREFIX}${IMAGE_PATHS.ofUser.replace("{id}", String(userId))}`;

/** What an upload answers, on either door. */
export const toProfileImageUpload = (
  config: Context["config"],
  stored: StoredProfileImage,
): TProfileImageUpload => ({
  imageUrl: profileImageUrl(config, stored.userId),
  uploadedAt: stored.uploadedAt.toISOString(),
});

/** What native callers get: the facts, and the bytes unless they said `withData: false`. */
function toProfileImage(config: Context["config"], image: ServedProfileImage): TProfileImage {
  return {
    contentType: image.contentType as ProfileImageType,
    etag: quotedEtag(image.etag),
    width: image.width,
    height: image.height,
    byteSize: image.byteSize,
    uploadedAt: image.uploadedAt.toISOString(),
    imageUrl: profileImageUrl(config, image.userId),
    ...(image.content && { dataBase64: image.content.toString("base64") }),
  };
}

/** Both native GETs: the image of `target` in a type the caller decodes, bytes included by default. */
export async function loadNativeProfileImage(
  ctx: Pick<Context, "db" | "config" | "images">,
  caller: Caller,
  target: "self" | { id: number },
  request: TNativeImageRequest | undefined,
): Promise<TProfileImage> {
  const image = await loadProfileImage(ctx, caller, target, {
    withContent: request?.withData ?? true,
    accepted: acceptedFromList(request?.accept),
  });
  return toProfileImage(ctx.config, image);
}
