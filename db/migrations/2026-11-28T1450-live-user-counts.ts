import { type Kysely, sql } from "kysely";

/**
 * The number of live (not soft-deleted) users per status, kept exact by triggers in the same
 * transaction as each change, so an unfiltered listing's count reads a few rows instead of
 * counting every live user (at a million users count(*) costs tens of milliseconds a page).
 *
 * Each change adds its deltas with one `insert … on conflict do update`, rows in status order:
 * concurrent writers wait on the counter rows they touch until they commit (so no change is lost),
 * and always lock them in the same order (so two single-statement changes moving users in opposite
 * directions cannot deadlock on them). Inserts and deletes count per statement (a bulk insert updates each
 * status once); updates count per row, and only rows whose status or liveness changed (a login's
 * last_login_at costs nothing).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table live_user_counts (
      status text primary key,
      users integer not null
    )`.execute(db);
  await sql`
    create function count_live_users_by_statement() returns trigger language plpgsql as $$
    begin
      if TG_OP = 'TRUNCATE' then
        delete from live_user_counts;
      else
        insert into live_user_counts as c (status, users)
        select status, count(*) * (case TG_OP when 'INSERT' then 1 else -1 end)
        from changed_rows where deleted_at is null
        group by status order by status
        on conflict (status) do update set users = c.users + excluded.users;
      end if;
      return null;
    end;
    $$`.execute(db);
  await sql`
    create function count_live_users_by_row() returns trigger language plpgsql as $$
    begin
      insert into live_user_counts as c (status, users)
      select status, sum(delta) from (
        select OLD.status, -1 where OLD.deleted_at is null
        union all
        select NEW.status, 1 where NEW.deleted_at is null
      ) as d(status, delta)
      group by status having sum(delta) <> 0 order by status
      on conflict (status) do update set users = c.users + excluded.users;
      return null;
    end;
    $$`.execute(db);
  // Created before the first count: creating a trigger locks users against writes until this
  // migration commits, so no change falls between the count and the triggers.
  await sql`
    create trigger users_live_count_inserted
    after insert on users referencing new table as changed_rows
    for each statement execute function count_live_users_by_statement()`.execute(db);
  await sql`
    create trigger users_live_count_deleted
    after delete on users referencing old table as changed_rows
    for each statement execute function count_live_users_by_statement()`.execute(db);
  await sql`
    create trigger users_live_count_truncated
    after truncate on users
    for each statement execute function count_live_users_by_statement()`.execute(db);
  await sql`
    create trigger users_live_count_updated
    after update on users for each row
    when (old.status is distinct from new.status
      or (old.deleted_at is null) is distinct from (new.deleted_at is null))
    execute function count_live_users_by_row()`.execute(db);
  await sql`
    insert into live_user_counts (status, users)
    select status, count(*) from users where deleted_at is null group by status`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger users_live_count_updated on users`.execute(db);
  await sql`drop trigger users_live_count_truncated on users`.execute(db);
  await sql`drop trigger users_live_count_deleted on users`.execute(db);
  await sql`drop trigger users_live_count_inserted on users`.execute(db);
  await sql`drop function count_live_users_by_row()`.execute(db);
  await sql`drop function count_live_users_by_statement()`.execute(db);
  await sql`drop table live_user_counts`.execute(db);
}
