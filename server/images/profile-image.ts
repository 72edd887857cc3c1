import {
  deleteProfileImage,
  findProfileImageMeta,
  type ImageVariantName,
  type ProfileImageMeta,
  readVariantContent,
  type StoredVariantMeta,
  storeDerivedFallback,
  upsertProfileImage,
} from "../../db/profile-images.ts";
import type { Caller } from "../auth/authenticate.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { loadVisibleUser } from "../permissions/permissions.ts";
import { type AcceptedImageTypes, prefersWebp } from "./negotiation.ts";
import type { FallbackType } from "./processing.ts";

/**
 * A user's profile image: stored, served in the variant the client accepts, removed. The
 * procedures (routers/images/) and the raw REST routes (server/http/image-routes.ts) both call
 * these; the API's schemas and links are the procedures'.
 */

type ImageContext = Pick<Context, "db" | "config" | "images">;

/** What an upload stored: whose image, and when. */
export type StoredProfileImage = { userId: number; uploadedAt: Date };

/** ETags are sent quoted and strong, as HTTP wants them. */
export const quotedEtag = (etag: string) => `"${etag}"`;

const imageNotFound = () => new AppError("IMAGE_NOT_FOUND", "The user has no profile image");

/** Validates, re-encodes and stores the caller's image (replacing theirs); nothing on failure. */
export async function storeProfileImage(
  ctx: ImageContext,
  caller: Pick<Caller, "id">,
  bytes: Uint8Array,
): Promise<StoredProfileImage> {
  const image = await ctx.images.reencode(bytes);
  const stored = await upsertProfileImage(ctx.db, {
    userId: caller.id,
    width: image.width,
    height: image.height,
    primary: image.webp,
    fallback: image.fallback,
  });
  return { userId: caller.id, uploadedAt: stored.uploadedAt };
}

/** One variant of the image, as served: the facts, that variant's type and ETag, maybe its bytes. */
export type ServedProfileImage = Omit<ProfileImageMeta, "primary" | "fallback"> &
  StoredVariantMeta & {
    /** Undefined when not asked for, or when its ETag is one the caller already has. */
    content: Buffer | undefined;
  };

type Chosen = { variant: ImageVariantName; meta: StoredVariantMeta; content?: Buffer };

/**
 * The image of the caller ("self") or of a user the caller may see (else 404 USER_NOT_FOUND),
 * in the variant the caller accepts; 404 IMAGE_NOT_FOUND when there is none. `withContent` reads
 * the bytes too, unless the variant's ETag is one of `unlessEtagIn` (If-None-Match): a 304 costs
 * no bytes from the database.
 */
export async function loadProfileImage(
  ctx: ImageContext,
  caller: Caller,
  target: "self" | { id: number },
  options: { accepted: AcceptedImageTypes; withContent: boolean; unlessEtagIn?: readonly string[] },
): Promise<ServedProfileImage> {
  const userId = target === "self" ? caller.id : (await loadVisibleUser(ctx.db, caller, target)).id;
  // A replacement between reading the facts and the bytes is caught by the ETag: read again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const image = await findProfileImageMeta(ctx.db, userId);
    if (!image) break;
    const chosen = await chooseVariant(ctx, image, options.accepted);
    if (!chosen) continue;
    const { primary: _primary, fallback: _fallback, ...facts } = image;
    const served = { ...facts, ...chosen.meta };
    if (!options.withContent || options.unlessEtagIn?.includes(chosen.meta.etag)) {
      return { ...served, content: undefined };
    }
    const content =
      chosen.content ??
      (await readVariantContent(ctx.db, userId, chosen.variant, chosen.meta.etag));
    if (content) return { ...served, content };
  }
  throw imageNotFound();
}

/**
 * WebP or the fallback, by what the client accepts. An image stored before fallbacks existed
 * gets its fallback derived and stored here, once, when a client first needs it. Undefined when
 * the image was replaced meanwhile.
 */
async function chooseVariant(
  ctx: ImageContext,
  image: ProfileImageMeta,
  accepted: AcceptedImageTypes,
): Promise<Chosen | undefined> {
  const primary: Chosen = { variant: "primary", meta: image.primary };
  if (image.fallback) {
    const fallbackType = image.fallback.contentType as FallbackType;
    return prefersWebp(accepted, fallbackType)
      ? primary
      : { variant: "fallback", meta: image.fallback };
  }
  if (prefersWebp(accepted, "image/jpeg") && prefersWebp(accepted, "image/png")) return primary;
  const webp = await readVariantContent(ctx.db, image.userId, "primary", image.primary.etag);
  if (!webp) return undefined;
  const fallback = await ctx.images.deriveFallback(webp);
  await storeDerivedFallback(ctx.db, image.userId, image.primary.etag, fallback);
  if (prefersWebp(accepted, fallback.contentType)) return primary;
  const { content, contentType, etag } = fallback;
  return {
    variant: "fallback",
    meta: { contentType, etag, byteSize: content.byteLength },
    content,
  };
}

/** Removes the caller's image; 404 IMAGE_NOT_FOUND when there is none. */
export async function removeProfileImage(
  ctx: ImageContext,
  caller: Pick<Caller, "id">,
): Promise<void> {
  if (!(await deleteProfileImage(ctx.db, caller.id))) throw imageNotFound();
}
