import { type Kysely, sql } from "kysely";

/**
 * Events (what changed, written in the same transaction as the change), the webhook endpoints
 * that want them, and one delivery row per event and endpoint.
 *
 * The change feed reads events in commit order. Ids are handed out when a row is inserted, and
 * concurrent transactions commit in another order, so a reader paging by id could pass an id
 * whose transaction commits later and never see it. So each event gets a second number, its
 * feed `position`, at the very end of its transaction: a deferred constraint trigger runs at
 * COMMIT, takes one transaction-scoped advisory lock (held until the commit is done and visible)
 * and only then draws the position from a sequence. Positions are therefore drawn in the order
 * their transactions commit, and a reader that sees position p sees every position below it:
 * the transaction that drew a smaller one had committed before p's could take the lock. Only
 * transactions that wrote an event meet at that lock, for the last moment of their commit. It
 * needs no session state, so it works through a transaction-mode pooler, and on PGlite.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create sequence event_positions`.execute(db);
  await sql`
    create table events (
      id bigserial primary key,
      public_id uuid not null unique default gen_random_uuid(),
      type text not null,
      subject text not null,
      data jsonb not null,
      occurred_at timestamptz not null default now(),
      position bigint unique
    )`.execute(db);
  await sql`create index events_occurred_at on events (occurred_at)`.execute(db);
  await sql`
    create function assign_event_position() returns trigger language plpgsql as $$
    begin
      -- 22 (issue) << 32 | 1: one lock for every event-writing transaction's commit.
      perform pg_advisory_xact_lock(94489280513);
      update events set position = nextval('event_positions') where id = NEW.id;
      return null;
    end;
    $$`.execute(db);
  await sql`
    create constraint trigger events_feed_position
    after insert on events deferrable initially deferred
    for each row execute function assign_event_position()`.execute(db);

  await sql`
    create table webhook_endpoints (
      id serial primary key,
      url text not null,
      description text not null default '',
      event_types text[] not null,
      secret text not null,
      previous_secret text,
      previous_secret_expires_at timestamptz,
      enabled boolean not null default true,
      disabled_reason text,
      failing_since timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table webhook_deliveries (
      id bigserial primary key,
      endpoint_id integer not null references webhook_endpoints (id) on delete cascade,
      event_id bigint not null references events (id) on delete cascade,
      subject text not null,
      status text not null default 'pending',
      attempts integer not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_status_code integer,
      last_error text,
      created_at timestamptz not null default now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`
    create index webhook_deliveries_due on webhook_deliveries (next_attempt_at)
    where status = 'pending'`.execute(db);
  await sql`
    create index webhook_deliveries_subject on webhook_deliveries (endpoint_id, subject)
    where status = 'pending'`.execute(db);
  await sql`
    create index webhook_deliveries_by_endpoint on webhook_deliveries (endpoint_id, id)`.execute(
    db,
  );
  await sql`create index webhook_deliveries_event on webhook_deliveries (event_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webhook_deliveries`.execute(db);
  await sql`drop table webhook_endpoints`.execute(db);
  await sql`drop trigger events_feed_position on events`.execute(db);
  await sql`drop function assign_event_position()`.execute(db);
  await sql`drop table events`.execute(db);
  await sql`drop sequence event_positions`.execute(db);
}
