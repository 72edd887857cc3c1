import { type Kysely, sql } from "kysely";

/**
 * The JPEG/PNG fallback of each profile image, beside its WebP: derived once at upload. Images
 * stored before this migration have none (all four columns null); the service derives theirs once,
 * the first time a client that does not accept WebP asks (server/images/profile-image.ts), so
 * the migration needs no image decoder and stays quick however many images there are.
 */
// Typed Kysely<any> on purpose: a migration describes the schema as it was then.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("profile_images")
    .addColumn("fallback_content", "bytea")
    .addColumn("fallback_content_type", "text", (c) =>
      c.check(sql`fallback_content_type in ('image/jpeg', 'image/png')`),
    )
    .addColumn("fallback_etag", "text")
    .addColumn("fallback_byte_size", "integer")
    .execute();
  await db.schema
    .alterTable("profile_images")
    .addCheckConstraint(
      "profile_images_fallback_check",
      sql`(fallback_content is null and fallback_content_type is null and fallback_etag is null and fallback_byte_size is null)
        or (fallback_content_type is not null and fallback_etag is not null
            and fallback_byte_size = octet_length(fallback_content))`,
    )
    .execute();
  // Already compressed, like `content`: skip TOAST's futile compression attempt.
  await sql`alter table profile_images alter column fallback_content set storage external`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("profile_images")
    .dropConstraint("profile_images_fallback_check")
    .execute();
  await db.schema
    .alterTable("profile_images")
    .dropColumn("fallback_content")
    .dropColumn("fallback_content_type")
    .dropColumn("fallback_etag")
    .dropColumn("fallback_byte_size")
    .execute();
}
