import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type { Database, ImportJobsTable, MembershipRole, Role, UserStatus } from "./database.ts";
import { PUBLIC_USER_COLUMNS, type PublicUserRow } from "./users.ts";

// Bulk imports (server/porting/import-job.ts decides; this is its SQL): the job row, the staged
// rows of its file, and the batch writes. Nothing here knows an API error.

export type ImportJob = Selectable<ImportJobsTable>;

export type StagedRow = {
  line: number;
  emailKey: string | null;
  usernameKey: string | null;
  data: unknown;
  error: string | null;
};

export const createImportJob = (
  db: Kysely<Database>,
  job: { createdBy: number; format: "ndjson" | "csv"; dryRun: boolean },
): Promise<ImportJob> =>
  db
    .insertInto("import_jobs")
    .values({
      created_by: job.createdBy,
      format: job.format,
      dry_run: job.dryRun,
      status: "receiving",
    })
    .returningAll()
    .executeTakeFirstOrThrow();

export const findImportJob = (db: Kysely<Database>, id: number): Promise<ImportJob | undefined> =>
  db.selectFrom("import_jobs").selectAll().where("id", "=", id).executeTakeFirst();

/** One statement for a batch of the file's rows, in file order. */
export async function stageImportRows(
  db: Kysely<Database>,
  jobId: number,
  rows: readonly StagedRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto("import_rows")
    .values(
      rows.map((row) => ({
        job_id: jobId,
        line: row.line,
        email_key: row.emailKey,
        username_key: row.usernameKey,
        data: row.data === null ? null : JSON.stringify(row.data),
        error: row.error,
      })),
    )
    .execute();
  await touchImportJob(db, jobId);
}

export const touchImportJob = (db: Kysely<Database>, jobId: number) =>
  db.updateTable("import_jobs").set({ heartbeat_at: sql`now()` }).where("id", "=", jobId).execute();

/** The whole file is staged: the job may run. */
export const queueImportJob = (db: Kysely<Database>, jobId: number, totalRows: number) =>
  db
    .updateTable("import_jobs")
    .set({ status: "queued", total_rows: totalRows, heartbeat_at: sql`now()` })
    .where("id", "=", jobId)
    .where("status", "=", "receiving")
    .execute();

/** Marks an unfinished job failed and drops what it staged. */
export async function failImportJob(
  db: Kysely<Database>,
  jobId: number,
  error: string,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable("import_jobs")
      .set({ status: "failed", error, finished_at: sql`now()` })
      .where("id", "=", jobId)
      .where("status", "in", ["receiving", "queued", "running"])
      .execute();
    await tx.deleteFrom("import_rows").where("job_id", "=", jobId).execute();
  });
}

/**
 * Uploads whose request ended (their process died) without finishing are failed: their file is
 * gone with the request. Returns how many.
 */
export async function failStaleUploads(db: Kysely<Database>, staleSeconds: number) {
  const rows = await db
    .updateTable("import_jobs")
    .set({ status: "failed", error: "The upload was interrupted", finished_at: sql`now()` })
    .where("status", "=", "receiving")
    .where("heartbeat_at", "<", sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
    .returning("id")
    .execute();
  for (const { id } of rows) await db.deleteFrom("import_rows").where("job_id", "=", id).execute();
  return rows.length;
}

/**
 * Takes a job to run: the given one if it is queued, else (no id) the oldest queued or running
 * job nobody has touched for `staleSeconds` (its process died: it is resumed where its last batch
 * committed). SKIP LOCKED: two processes never take the same job.
 */
export async function claimImportJob(
  db: Kysely<Database>,
  by: { id: number } | { staleSeconds: number },
): Promise<ImportJob | undefined> {
  const candidate = db
    .selectFrom("import_jobs")
    .select("id")
    .$if("id" in by, (q) =>
      q.where("id", "=", (by as { id: number }).id).where("status", "=", "queued"),
    )
    .$if("staleSeconds" in by, (q) =>
      q
        .where("status", "in", ["queued", "running"])
        .where(
          "heartbeat_at",
          "<",
          sql<Date>`now() - make_interval(secs => ${(by as { staleSeconds: number }).staleSeconds})`,
        ),
    )
    .orderBy("id")
    .limit(1)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable("import_jobs")
    .set({ status: "running", heartbeat_at: sql`now()` })
    .where("id", "=", (eb) => eb.selectFrom(candidate.as("c")).select("c.id"))
    .returningAll()
    .executeTakeFirst();
}

/**
 * Rejects every row whose email (then username) an earlier row of the same file already has:
 * the first row wins, the rest name its line. Two statements over the whole file.
 */
export async function rejectInFileDuplicates(db: Kysely<Database>, jobId: number): Promise<void> {
  for (const [key, code, what] of [
    ["email_key", "EMAIL_TAKEN", "email"],
    ["username_key", "USERNAME_TAKEN", "username"],
  ] as const) {
    await sql`
      update import_rows r
         set error = ${`${code}: The ${what} is already on line `} || d.first_line || ' of this file',
             data = null
        from (select line, first_value(line) over (partition by ${sql.ref(key)} order by line) as first_line
                from import_rows
               where job_id = ${jobId} and error is null and ${sql.ref(key)} is not null) d
       where r.job_id = ${jobId} and r.line = d.line and d.first_line <> d.line`.execute(db);
  }
}

/** The staged rows from `fromLine` on, in file order. */
export const stagedRowsFrom = (
  db: Kysely<Database>,
  jobId: number,
  fromLine: number,
  limit: number,
) =>
  db
    .selectFrom("import_rows")
    .select(["line", "data", "error"])
    .where("job_id", "=", jobId)
    .where("line", ">=", fromLine)
    .orderBy("line")
    .limit(limit)
    .execute();

/**
 * Locks the job and moves its progress past a batch, if it is still where this runner left it:
 * false when another runner took it over meanwhile (the caller rolls back).
 */
export async function advanceImportJob(
  tx: Transaction<Database>,
  jobId: number,
  from: number,
  batch: { nextLine: number; processed: number; imported: number; rejected: number },
): Promise<boolean> {
  const row = await tx
    .updateTable("import_jobs")
    .set((eb) => ({
      next_line: batch.nextLine,
      processed_rows: eb("processed_rows", "+", batch.processed),
      imported_rows: eb("imported_rows", "+", batch.imported),
      rejected_rows: eb("rejected_rows", "+", batch.rejected),
      heartbeat_at: sql`now()`,
    }))
    .where("id", "=", jobId)
    .where("next_line", "=", from)
    .where("status", "=", "running")
    .returning("id")
    .executeTakeFirst();
  return row !== undefined;
}

export type ImportedUser = {
  line: number;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  role: Role;
  status: UserStatus;
  email_verified: boolean;
  password_hash: string | null;
};

/**
 * Inserts a batch of users in one statement; a row whose email or username is taken (by a stored
 * user, a concurrent import, or an earlier row of the batch) is skipped, not an error. Returns
 * the users stored, with the line each came from.
 */
export async function insertImportedUsers(
  tx: Transaction<Database>,
  users: readonly ImportedUser[],
): Promise<(PublicUserRow & { line: number })[]> {
  if (users.length === 0) return [];
  const stored = await tx
    .insertInto("users")
    .values(users.map(({ line: _line, ...user }) => user))
    .onConflict((oc) => oc.doNothing())
    .returning(PUBLIC_USER_COLUMNS)
    .execute();
  const lineOf = new Map(users.map((user) => [user.email.toLowerCase(), user.line]));
  return stored.map((user) => ({ ...user, line: lineOf.get(user.email.toLowerCase()) ?? 0 }));
}

/** Which of these (lower-cased) emails and usernames live users hold. */
export async function takenUserKeys(
  db: Kysely<Database>,
  emails: readonly string[],
  usernames: readonly string[],
): Promise<{ emails: Set<string>; usernames: Set<string> }> {
  const taken = { emails: new Set<string>(), usernames: new Set<string>() };
  if (emails.length > 0) {
    const rows = await db
      .selectFrom("users")
      .select(sql<string>`lower(email)`.as("key"))
      .where(sql`lower(email)`, "in", emails)
      .where("deleted_at", "is", null)
      .execute();
    for (const row of rows) taken.emails.add(row.key);
  }
  if (usernames.length > 0) {
    const rows = await db
      .selectFrom("users")
      .select(sql<string>`lower(username)`.as("key"))
      .where(sql`lower(username)`, "in", usernames)
      .where("deleted_at", "is", null)
      .execute();
    for (const row of rows) taken.usernames.add(row.key);
  }
  return taken;
}

/** The ids among these that name an organization. */
export async function existingOrganizationIds(
  db: Kysely<Database>,
  ids: readonly number[],
): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom("organizations").select("id").where("id", "in", ids).execute();
  return new Set(rows.map((row) => row.id));
}

export async function insertImportedMemberships(
  tx: Transaction<Database>,
  memberships: readonly { userId: number; organizationId: number; role: MembershipRole }[],
): Promise<void> {
  if (memberships.length === 0) return;
  await tx
    .insertInto("memberships")
    .values(
      memberships.map((m) => ({
        user_id: m.userId,
        organization_id: m.organizationId,
        role: m.role,
      })),
    )
    .execute();
}

/** One audit entry per imported user, in one statement. */
export async function auditImportedUsers(
  tx: Transaction<Database>,
  actorId: number | null,
  jobId: number,
  userIds: readonly number[],
): Promise<void> {
  if (userIds.length === 0) return;
  await tx
    .insertInto("audit_log")
    .values(
      userIds.map((id) => ({
        actor_id: actorId,
        action: "user.import",
        target_user_id: id,
        changes: JSON.stringify({ jobId }),
      })),
    )
    .execute();
}

/**
 * Settles a handled batch's staged rows: rejected ones keep their reason (and lose their data),
 * the rest are deleted (their password hashes with them).
 */
export async function settleStagedRows(
  tx: Transaction<Database>,
  jobId: number,
  range: { from: number; to: number },
  rejected: readonly { line: number; error: string }[],
): Promise<void> {
  if (rejected.length > 0) {
    await sql`
      update import_rows r set error = v.error, data = null
        from unnest(${rejected.map((r) => r.line)}::int[], ${rejected.map((r) => r.error)}::text[])
             as v(line, error)
       where r.job_id = ${jobId} and r.line = v.line`.execute(tx);
  }
  await tx
    .deleteFrom("import_rows")
    .where("job_id", "=", jobId)
    .where("line", ">=", range.from)
    .where("line", "<=", range.to)
    .where("error", "is", null)
    .execute();
}

/** Ends a job: only the first `keepRejections` rejected rows stay to be reported. */
export async function finishImportJob(
  db: Kysely<Database>,
  jobId: number,
  keepRejections: number,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`
      delete from import_rows where job_id = ${jobId} and line > coalesce(
        (select line from import_rows where job_id = ${jobId} order by line
          offset ${keepRejections - 1} limit 1), 2147483647)`.execute(tx);
    await tx
      .updateTable("import_jobs")
      .set({ status: "succeeded", finished_at: sql`now()`, heartbeat_at: sql`now()` })
      .where("id", "=", jobId)
      .where("status", "=", "running")
      .execute();
  });
}

/** The states of a job not finished yet (the partial index import_jobs_unfinished holds them). */
export const UNFINISHED_IMPORT_STATES = ["receiving", "queued", "running"] as const;
export type UnfinishedImportState = (typeof UNFINISHED_IMPORT_STATES)[number];

/** How many import jobs are in each unfinished state, every process's (the metrics' gauge). */
export async function unfinishedImportJobs(
  db: Kysely<Database>,
): Promise<Record<UnfinishedImportState, number>> {
  const rows = await db
    .selectFrom("import_jobs")
    .select(["status", sql<number>`count(*)::int`.as("jobs")])
    .where("status", "in", UNFINISHED_IMPORT_STATES)
    .groupBy("status")
    .execute();
  const counts = { receiving: 0, queued: 0, running: 0 };
  for (const row of rows) counts[row.status as UnfinishedImportState] = row.jobs;
  return counts;
}

export const importRejections = (db: Kysely<Database>, jobId: number, limit: number) =>
  db
    .selectFrom("import_rows")
    .select(["line", "error"])
    .where("job_id", "=", jobId)
    .where("error", "is not", null)
    .orderBy("line")
    .limit(limit)
    .execute();

/**
 * Refreshes the planner's statistics of users after a large import: until autovacuum gets to it,
 * a table that grew by many rows at once gets poor plans (a keyset page of an export took seconds
 * instead of a millisecond at a million freshly imported users).
 */
export async function analyzeUsers(db: Kysely<Database>): Promise<void> {
  await sql`analyze users`.execute(db);
}
