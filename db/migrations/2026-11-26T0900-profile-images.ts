import { type Kysely, sql } from "kysely";

// Typed Kysely<any> on purpose: a migration describes the schema as it was then.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("profile_images")
    .addColumn("user_id", "integer", (c) =>
      c.primaryKey().references("users.id").onDelete("cascade"),
    )
    .addColumn("content", "bytea", (c) => c.notNull())
    .addColumn("content_type", "text", (c) =>
      c.notNull().check(sql`content_type in ('image/webp', 'image/jpeg', 'image/png')`),
    )
    .addColumn("etag", "text", (c) => c.notNull())
    .addColumn("width", "integer", (c) => c.notNull().check(sql`width > 0`))
    .addColumn("height", "integer", (c) => c.notNull().check(sql`height > 0`))
    .addColumn("byte_size", "integer", (c) => c.notNull())
    .addColumn("uploaded_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint("profile_images_byte_size_check", sql`byte_size = octet_length(content)`)
    .execute();
  // The stored bytes are already compressed (WebP): skip TOAST's futile compression attempt.
  await sql`alter table profile_images alter column content set storage external`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("profile_images").execute();
}
