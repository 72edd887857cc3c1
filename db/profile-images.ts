import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** The stored variants of one image: WebP (`primary`) and the JPEG/PNG fallback. */
export type ImageVariantName = "primary" | "fallback";

export type StoredVariantMeta = {
  contentType: string;
  /** The content hash, unquoted. */
  etag: string;
  byteSize: number;
};

export type ProfileImageMeta = {
  userId: number;
  width: number;
  height: number;
  uploadedAt: Date;
  primary: StoredVariantMeta;
  /** Undefined for an image stored before fallbacks existed, until it is derived. */
  fallback: StoredVariantMeta | undefined;
};

export type NewVariant = { content: Uint8Array; contentType: string; etag: string };

export type NewProfileImage = {
  userId: number;
  width: number;
  height: number;
  primary: NewVariant;
  /** Left out only by tests standing in for images stored before fallbacks existed. */
  fallback?: NewVariant;
};

/** pg returns bytea as a Buffer, PGlite as a Uint8Array: both become a Buffer, without a copy. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const META_COLUMNS = [
  "user_id",
  "width",
  "height",
  "uploaded_at",
  "content_type",
  "etag",
  "byte_size",
  "fallback_content_type",
  "fallback_etag",
  "fallback_byte_size",
] as const;

type MetaRow = {
  user_id: number;
  width: number;
  height: number;
  uploaded_at: Date;
  content_type: string;
  etag: string;
  byte_size: number;
  fallback_content_type: string | null;
  fallback_etag: string | null;
  fallback_byte_size: number | null;
};

const toMeta = (row: MetaRow): ProfileImageMeta => ({
  userId: row.user_id,
  width: row.width,
  height: row.height,
  uploadedAt: row.uploaded_at,
  primary: { contentType: row.content_type, etag: row.etag, byteSize: row.byte_size },
  fallback:
    row.fallback_content_type !== null && row.fallback_etag !== null
      ? {
          contentType: row.fallback_content_type,
          etag: row.fallback_etag,
          byteSize: row.fallback_byte_size ?? 0,
        }
      : undefined,
});

const fallbackValues = (fallback: NewVariant | undefined) => ({
  fallback_content: fallback?.content ?? null,
  fallback_content_type: fallback?.contentType ?? null,
  fallback_etag: fallback?.etag ?? null,
  fallback_byte_size: fallback?.content.byteLength ?? null,
});

/** Stores the user's image with its variants, replacing any previous one, in one statement. */
export async function upsertProfileImage(
  db: Kysely<Database>,
  image: NewProfileImage,
): Promise<ProfileImageMeta> {
  const values = {
    user_id: image.userId,
    width: image.width,
    height: image.height,
    content: image.primary.content,
    content_type: image.primary.contentType,
    etag: image.primary.etag,
    byte_size: image.primary.content.byteLength,
    ...fallbackValues(image.fallback),
  };
  const row = await db
    .insertInto("profile_images")
    .values(values)
    .onConflict((oc) =>
      oc.column("user_id").doUpdateSet({
        content: (eb) => eb.ref("excluded.content"),
        content_type: (eb) => eb.ref("excluded.content_type"),
        etag: (eb) => eb.ref("excluded.etag"),
        width: (eb) => eb.ref("excluded.width"),
        height: (eb) => eb.ref("excluded.height"),
        byte_size: (eb) => eb.ref("excluded.byte_size"),
        fallback_content: (eb) => eb.ref("excluded.fallback_content"),
        fallback_content_type: (eb) => eb.ref("excluded.fallback_content_type"),
        fallback_etag: (eb) => eb.ref("excluded.fallback_etag"),
        fallback_byte_size: (eb) => eb.ref("excluded.fallback_byte_size"),
        uploaded_at: sql`now()`,
      }),
    )
    .returning(META_COLUMNS)
    .executeTakeFirstOrThrow();
  return toMeta(row);
}

/** The user's image, its facts and both variants' (no bytes): enough to negotiate and answer 304. */
export async function findProfileImageMeta(
  db: Kysely<Database>,
  userId: number,
): Promise<ProfileImageMeta | undefined> {
  const row = await db
    .selectFrom("profile_images")
    .select(META_COLUMNS)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row && toMeta(row);
}

/**
 * The bytes of one variant, provided it is still the one whose ETag the caller negotiated;
 * undefined when the image was replaced or deleted in between.
 */
export async function readVariantContent(
  db: Kysely<Database>,
  userId: number,
  variant: ImageVariantName,
  etag: string,
): Promise<Buffer | undefined> {
  const row =
    variant === "primary"
      ? await db
          .selectFrom("profile_images")
          .select("content")
          .where("user_id", "=", userId)
          .where("etag", "=", etag)
          .executeTakeFirst()
      : await db
          .selectFrom("profile_images")
          .select("fallback_content as content")
          .where("user_id", "=", userId)
          .where("fallback_etag", "=", etag)
          .executeTakeFirst();
  return row?.content ? asBuffer(row.content) : undefined;
}

/**
 * Stores a fallback derived later for the image whose WebP ETag is `primaryEtag`; nothing when
 * that image was replaced meanwhile or already has one (a concurrent request derived it first).
 */
export async function storeDerivedFallback(
  db: Kysely<Database>,
  userId: number,
  primaryEtag: string,
  fallback: NewVariant,
): Promise<void> {
  await db
    .updateTable("profile_images")
    .set(fallbackValues(fallback))
    .where("user_id", "=", userId)
    .where("etag", "=", primaryEtag)
    .where("fallback_etag", "is", null)
    .execute();
}

/** Removes the user's image; false when there was none. */
export async function deleteProfileImage(db: Kysely<Database>, userId: number): Promise<boolean> {
  const result = await db
    .deleteFrom("profile_images")
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
