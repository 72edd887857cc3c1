import { type Kysely, sql, type Transaction } from "kysely";
import type { Database } from "./database.ts";

type Db = Kysely<Database> | Transaction<Database>;

export type ProfileImageMeta = {
  userId: number;
  contentType: string;
  /** The content hash, unquoted. */
  etag: string;
  width: number;
  height: number;
  byteSize: number;
  uploadedAt: Date;
};

export type ProfileImage = ProfileImageMeta & {
  /** Undefined when not asked for, or when the stored ETag was one the caller already has. */
  content: Buffer | undefined;
};

export type NewProfileImage = Omit<ProfileImageMeta, "uploadedAt" | "byteSize"> & {
  content: Uint8Array;
};

/** pg returns bytea as a Buffer, PGlite as a Uint8Array: both become a Buffer, without a copy. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const META_COLUMNS = [
  "user_id",
  "content_type",
  "etag",
  "width",
  "height",
  "byte_size",
  "uploaded_at",
] as const;

type MetaRow = {
  user_id: number;
  content_type: string;
  etag: string;
  width: number;
  height: number;
  byte_size: number;
  uploaded_at: Date;
};

const toMeta = (row: MetaRow): ProfileImageMeta => ({
  userId: row.user_id,
  contentType: row.content_type,
  etag: row.etag,
  width: row.width,
  height: row.height,
  byteSize: row.byte_size,
  uploadedAt: row.uploaded_at,
});

/** Stores the user's image, replacing any previous one, in one statement. */
export async function upsertProfileImage(
  db: Db,
  image: NewProfileImage,
): Promise<ProfileImageMeta> {
  const values = {
    user_id: image.userId,
    content: image.content,
    content_type: image.contentType,
    etag: image.etag,
    width: image.width,
    height: image.height,
    byte_size: image.content.byteLength,
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
        uploaded_at: sql`now()`,
      }),
    )
    .returning(META_COLUMNS)
    .executeTakeFirstOrThrow();
  return toMeta(row);
}

/**
 * The user's image. `withContent` also reads the bytes, except when the stored ETag is one of
 * `unlessEtagIn` (the caller's If-None-Match): a 304 then costs no bytes from the database.
 */
export async function findProfileImage(
  db: Db,
  userId: number,
  options: { withContent: boolean; unlessEtagIn?: readonly string[] } = { withContent: false },
): Promise<ProfileImage | undefined> {
  const known = options.unlessEtagIn ?? [];
  const row = await db
    .selectFrom("profile_images")
    .select(META_COLUMNS)
    .$if(options.withContent && known.length === 0, (qb) => qb.select("content"))
    .$if(options.withContent && known.length > 0, (qb) =>
      qb.select(
        sql<Uint8Array | null>`case when etag in (${sql.join(known)}) then null else content end`.as(
          "content",
        ),
      ),
    )
    .where("user_id", "=", userId)
    .executeTakeFirst();
  if (!row) return undefined;
  const content = (row as { content?: Uint8Array | null }).content;
  return { ...toMeta(row), content: content ? asBuffer(content) : undefined };
}

/** Removes the user's image; false when there was none. */
export async function deleteProfileImage(db: Db, userId: number): Promise<boolean> {
  const result = await db
    .deleteFrom("profile_images")
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
