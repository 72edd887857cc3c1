import { type Kysely, sql } from "kysely";

/**
 * Second factors (issue 21): a TOTP secret per user (encrypted by the service, confirmed by a
 * first code, with the last time step used so a code works once), ten hashed single-use recovery
 * codes, the short-lived challenges between a password and its second factor, and the time a
 * session's user last proved who they are (the access token's `auth_time`, for step-up).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("totp_factors")
    .addColumn("user_id", "integer", (c) =>
      c.primaryKey().references("users.id").onDelete("cascade"),
    )
    .addColumn("secret_ciphertext", "text", (c) => c.notNull())
    .addColumn("confirmed_at", "timestamptz")
    .addColumn("last_used_step", "integer")
    .addColumn("last_used_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("recovery_codes")
    .addColumn("id", "integer", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("used_at", "timestamptz")
    .addUniqueConstraint("recovery_codes_user_code_key", ["user_id", "code_hash"])
    .execute();

  await db.schema
    .createTable("second_factor_challenges")
    .addColumn("id", "integer", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("used_at", "timestamptz")
    .execute();
  await sql`create index second_factor_challenges_user on second_factor_challenges (user_id)`.execute(
    db,
  );

  // Sessions begun before this migration count as authenticated when they began.
  await sql`alter table sessions add column authenticated_at timestamptz`.execute(db);
  await sql`update sessions set authenticated_at = created_at`.execute(db);
  await sql`alter table sessions alter column authenticated_at set default now()`.execute(db);
  await sql`alter table sessions alter column authenticated_at set not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table sessions drop column authenticated_at`.execute(db);
  await db.schema.dropTable("second_factor_challenges").execute();
  await db.schema.dropTable("recovery_codes").execute();
  await db.schema.dropTable("totp_factors").execute();
}
