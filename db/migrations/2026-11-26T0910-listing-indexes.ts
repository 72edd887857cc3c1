import { type Kysely, sql } from "kysely";

/**
 * Indexes for GET /api/users at a million users. Every text filter compares lower(column), so
 * the indexes are on exactly those expressions: equality uses the unique lower(email) /
 * lower(username) indexes; prefix (`startswith`) uses text_pattern_ops; substring (`contains`,
 * `endswith`) uses pg_trgm GIN where the extension is available. Keyset pages seek on
 * (order column, id).
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ["email", "username", "first_name", "last_name"]) {
    await sql
      .raw(
        `create index users_${column}_prefix_idx on users (lower(${column}) text_pattern_ops) where deleted_at is null`,
      )
      .execute(db);
  }
  for (const column of ["first_name", "last_name"]) {
    await sql.raw(`create index users_${column}_lower_idx on users (lower(${column}))`).execute(db);
  }
  for (const column of [
    "last_name",
    "first_name",
    "email",
    "username",
    "created_at",
    "updated_at",
  ]) {
    await sql.raw(`create index users_${column}_id_idx on users (${column}, id)`).execute(db);
  }
  await sql`create index users_status_created_idx on users (status, created_at)`.execute(db);

  const { rows } = await sql<{ available: boolean }>`
    select exists(select 1 from pg_available_extensions where name = 'pg_trgm') as available`.execute(
    db,
  );
  if (!rows[0]?.available) return;
  await sql`create extension if not exists pg_trgm`.execute(db);
  for (const column of ["email", "username", "first_name", "last_name"]) {
    await sql
      .raw(
        `create index users_${column}_trgm_idx on users using gin (lower(${column}) gin_trgm_ops) where deleted_at is null`,
      )
      .execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const names = [
    ...["email", "username", "first_name", "last_name"].flatMap((c) => [
      `users_${c}_prefix_idx`,
      `users_${c}_trgm_idx`,
    ]),
    "users_first_name_lower_idx",
    "users_last_name_lower_idx",
    ...["last_name", "first_name", "email", "username", "created_at", "updated_at"].map(
      (c) => `users_${c}_id_idx`,
    ),
    "users_status_created_idx",
  ];
  for (const name of names) await sql.raw(`drop index if exists ${name}`).execute(db);
}
