import { type Kysely, sql } from "kysely";

/**
 * Bulk imports (server/porting/): a job row that outlives the request which uploaded the file,
 * and the file's rows staged beside it. A staged row holds its validated values (the password
 * hash among them) only until the job has handled it; afterwards only rejected rows stay, with
 * their reason, and only the first few (the job counts the rest).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table import_jobs (
      id serial primary key,
      created_by integer references users(id) on delete set null,
      format text not null,
      dry_run boolean not null,
      status text not null,
      total_rows integer not null default 0,
      processed_rows integer not null default 0,
      imported_rows integer not null default 0,
      rejected_rows integer not null default 0,
      next_line integer not null default 0,
      error text,
      heartbeat_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`create index import_jobs_unfinished on import_jobs (heartbeat_at)
    where status in ('receiving', 'queued', 'running')`.execute(db);
  await sql`
    create table import_rows (
      job_id integer not null references import_jobs(id) on delete cascade,
      line integer not null,
      email_key text,
      username_key text,
      data jsonb,
      error text,
      primary key (job_id, line)
    )`.execute(db);
  await sql`create index import_rows_email on import_rows (job_id, email_key, line)`.execute(db);
  await sql`create index import_rows_username on import_rows (job_id, username_key, line)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table import_rows`.execute(db);
  await sql`drop table import_jobs`.execute(db);
}
