import { type Kysely, sql } from "kysely";

/**
 * Passkeys (WebAuthn credentials) and the challenges of their ceremonies. A challenge is kept
 * only as its hash, in the database so any process can finish a ceremony another began, and is
 * deleted when used (single use) or found expired.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table passkeys (
      id serial primary key,
      user_id integer not null references users (id) on delete cascade,
      credential_id text not null unique,
      public_key bytea not null,
      counter bigint not null default 0,
      transports text not null default '',
      user_handle text not null,
      name text not null,
      backed_up boolean not null default false,
      created_at timestamptz not null default now(),
      last_used_at timestamptz
    )`.execute(db);
  await sql`create index passkeys_user_id on passkeys (user_id)`.execute(db);
  await sql`
    create table webauthn_challenges (
      challenge_hash text primary key,
      purpose text not null,
      user_id integer references users (id) on delete cascade,
      user_handle text,
      expires_at timestamptz not null
    )`.execute(db);
  await sql`create index webauthn_challenges_expires_at on webauthn_challenges (expires_at)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webauthn_challenges`.execute(db);
  await sql`drop table passkeys`.execute(db);
}
