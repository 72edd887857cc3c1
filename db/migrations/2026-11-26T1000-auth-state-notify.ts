import { type Kysely, sql } from "kysely";

// Every change that can end a caller's access (role, status, email, username, token version,
// deletion; a session ended or shortened) sends NOTIFY auth_state '<user id>' at commit, so
// processes that keep callers' auth state in memory (server/auth/auth-state-cache.ts) drop it
// whichever process, script or console made the change.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function notify_auth_state() returns trigger language plpgsql as $$
    declare
      row_user_id integer;
    begin
      if TG_TABLE_NAME = 'users' then
        row_user_id := case when TG_OP = 'DELETE' then OLD.id else NEW.id end;
      else
        row_user_id := case when TG_OP = 'DELETE' then OLD.user_id else NEW.user_id end;
      end if;
      perform pg_notify('auth_state', row_user_id::text);
      return null;
    end;
    $$`.execute(db);
  await sql`
    create trigger users_auth_state_changed
    after update on users for each row
    when (old.role is distinct from new.role
      or old.status is distinct from new.status
      or old.email is distinct from new.email
      or old.username is distinct from new.username
      or old.token_version is distinct from new.token_version)
    execute function notify_auth_state()`.execute(db);
  await sql`
    create trigger users_auth_state_deleted
    after delete on users for each row execute function notify_auth_state()`.execute(db);
  await sql`
    create trigger sessions_auth_state_changed
    after update on sessions for each row
    when (old.revoked_at is distinct from new.revoked_at
      or old.expires_at is distinct from new.expires_at
      or old.user_id is distinct from new.user_id)
    execute function notify_auth_state()`.execute(db);
  await sql`
    create trigger sessions_auth_state_deleted
    after delete on sessions for each row execute function notify_auth_state()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger sessions_auth_state_deleted on sessions`.execute(db);
  await sql`drop trigger sessions_auth_state_changed on sessions`.execute(db);
  await sql`drop trigger users_auth_state_deleted on users`.execute(db);
  await sql`drop trigger users_auth_state_changed on users`.execute(db);
  await sql`drop function notify_auth_state()`.execute(db);
}
