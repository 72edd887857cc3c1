import { z } from "zod";
import {
  deleteProfileImage,
  findProfileImage,
  type ProfileImage,
  type ProfileImageMeta,
  upsertProfileImage,
} from "../../db/profile-images.ts";
import type { Caller } from "../../server/auth/authenticate.ts";
import type { Context } from "../../server/context.ts";
import { AppError } from "../../server/errors.ts";
import { imageProcessorFor } from "../../server/image-processing.ts";
import { loadVisibleUser } from "../../server/permissions.ts";
import { REST_PREFIX } from "../../server/rest.ts";

/**
 * What the image procedures and the thin REST routes in server/image-routes.ts share: the
 * schemas and the logic. The routes only parse multipart and write bytes; everything else is here.
 */

type ImageContext = Pick<Context, "db" | "config">;

export const ZProfileImageUpload = z
  .object({
    imageUrl: z.url().meta({ example: "https://api.example.com/api/users/42/profile/image" }),
    uploadedAt: z.iso.datetime(),
  })
  .meta({ id: "ProfileImageUpload" });

export const ZProfileImage = z
  .object({
    contentType: z.string().meta({ example: "image/webp" }),
    etag: z.string().meta({ description: "The strong ETag the REST GET sends, quotes included" }),
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

export type TProfileImageUpload = z.infer<typeof ZProfileImageUpload>;
export type TProfileImage = z.infer<typeof ZProfileImage>;

/** For native callers only: the REST GETs always answer with the bytes themselves. */
export const ZWithData = z
  .boolean()
  .optional()
  .meta({ description: "Include the bytes as `dataBase64` (default true)" });

export const profileImageUrl = (config: Context["config"], userId: number) =>
  `${config.PUBLIC_URL}${REST_PREFIX}/users/${userId}/profile/image`;

/** ETags are sent quoted and strong, as HTTP wants them. */
export const quotedEtag = (etag: string) => `"${etag}"`;

const imageNotFound = () => new AppError("IMAGE_NOT_FOUND", "The user has no profile image");

/** Validates, re-encodes and stores the caller's image (replacing theirs); nothing on failure. */
export async function storeProfileImage(
  ctx: ImageContext,
  caller: Pick<Caller, "id">,
  bytes: Uint8Array,
): Promise<TProfileImageUpload> {
  const image = await imageProcessorFor(ctx.config).reencode(bytes);
  const stored = await upsertProfileImage(ctx.db, { userId: caller.id, ...image });
  return {
    imageUrl: profileImageUrl(ctx.config, caller.id),
    uploadedAt: stored.uploadedAt.toISOString(),
  };
}

/**
 * The image of the caller ("self") or of a user the caller may see (else 404 USER_NOT_FOUND);
 * 404 IMAGE_NOT_FOUND when there is none. See findProfileImage for the content options.
 */
export async function loadProfileImage(
  ctx: ImageContext,
  caller: Caller,
  target: "self" | { id: number },
  options: { withContent: boolean; unlessEtagIn?: readonly string[] },
): Promise<ProfileImage> {
  const userId = target === "self" ? caller.id : (await loadVisibleUser(ctx.db, caller, target)).id;
  const image = await findProfileImage(ctx.db, userId, options);
  if (!image) throw imageNotFound();
  return image;
}

/** Removes the caller's image; 404 IMAGE_NOT_FOUND when there is none. */
export async function removeProfileImage(
  ctx: ImageContext,
  caller: Pick<Caller, "id">,
): Promise<void> {
  if (!(await deleteProfileImage(ctx.db, caller.id))) throw imageNotFound();
}

/** What native callers get: the facts, and the bytes unless they said `withData: false`. */
export function toProfileImage(
  config: Context["config"],
  image: ProfileImageMeta & { content?: Buffer | undefined },
): TProfileImage {
  return {
    contentType: image.contentType,
    etag: quotedEtag(image.etag),
    width: image.width,
    height: image.height,
    byteSize: image.byteSize,
    uploadedAt: image.uploadedAt.toISOString(),
    imageUrl: profileImageUrl(config, image.userId),
    ...(image.content && { dataBase64: image.content.toString("base64") }),
  };
}
