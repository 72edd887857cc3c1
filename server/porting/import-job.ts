import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { membershipEvent, recordEvents, userEvent } from "../../db/events.ts";
import {
  advanceImportJob,
  auditImportedUsers,
  createImportJob,
  existingOrganizationIds,
  failImportJob,
  type ImportedUser,
  type ImportJob,
  insertImportedMemberships,
  insertImportedUsers,
  queueImportJob,
  rejectInFileDuplicates,
  type StagedRow,
  settleStagedRows,
  stagedRowsFrom,
  stageImportRows,
  takenUserKeys,
} from "../../db/imports.ts";
import type { Config } from "../config.ts";
import { isDatabaseUnavailable } from "../errors/driver-errors.ts";
import { queueTokenMail } from "../mail/token-mail.ts";
import { type FileLimits, type ImportFormat, readImportFile } from "./import-file.ts";
import { fromCsvFields, type ImportRow, type ValidateImportRow } from "./import-row.ts";

/** Rows per statement, when staging and when importing. */
export const IMPORT_BATCH_ROWS = 500;
/** Rejected rows a finished job keeps to report (it counts all of them). */
export const MAX_REPORTED_REJECTIONS = 1000;
/** One record of a file, at most. */
export const MAX_RECORD_BYTES = 16 * 1024;
/** Rows of one file, at most. */
export const MAX_IMPORT_ROWS = 2_000_000;

type JobDeps = { db: Kysely<Database>; config: Pick<Config, "APP_URL" | "PUBLIC_URL"> };

/**
 * Reads an upload into a new job's staged rows as it arrives (IMPORT_BATCH_ROWS a statement,
 * never the whole file in memory) and queues the job. A row that fails validation is staged
 * with its reason. When the body is refused (too large, malformed CSV header) or the request
 * ends early, the job is failed and the error thrown.
 */
export async function receiveImport(
  db: Kysely<Database>,
  upload: {
    createdBy: number;
    format: ImportFormat;
    dryRun: boolean;
    body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
    maxBytes: number;
    validate: ValidateImportRow;
  },
): Promise<ImportJob> {
  const job = await createImportJob(db, upload);
  const limits: FileLimits = {
    maxBytes: upload.maxBytes,
    maxRecordBytes: MAX_RECORD_BYTES,
    maxRecords: MAX_IMPORT_ROWS,
  };
  let batch: StagedRow[] = [];
  let total = 0;
  try {
    for await (const record of readImportFile(upload.body, upload.format, limits)) {
      total++;
      batch.push(stagedRow(record, upload.format, upload.validate));
      if (batch.length >= IMPORT_BATCH_ROWS) {
        await stageImportRows(db, job.id, batch);
        batch = [];
      }
    }
    await stageImportRows(db, job.id, batch);
    await queueImportJob(db, job.id, total);
  } catch (error) {
    await failImportJob(db, job.id, "The upload was refused or interrupted").catch(() => {});
    throw error;
  }
  return { ...job, status: "queued", total_rows: total };
}

function stagedRow(
  record: Awaited<ReturnType<ReturnType<typeof readImportFile>["next"]>>["value"] & object,
  format: ImportFormat,
  validate: ValidateImportRow,
): StagedRow {
  const rejected = (error: string) => ({
    line: record.line,
    emailKey: null,
    usernameKey: null,
    data: null,
    error,
  });
  if ("error" in record) return rejected(record.error);
  const checked = validate(format === "csv" ? fromCsvFields(record.fields) : record.fields);
  if ("error" in checked) return rejected(checked.error);
  return {
    line: record.line,
    emailKey: checked.row.email.toLowerCase(),
    usernameKey: checked.row.username.toLowerCase(),
    data: checked.row,
    error: null,
  };
}

type Rejection = { line: number; error: string };
type Candidate = { line: number; row: ImportRow };

/** Thrown when another runner took the job over (this one's batch is rolled back). */
export class ImportSuperseded extends Error {}

/**
 * Runs a claimed job from where it stands to the end: first the in-file duplicates, then
 * IMPORT_BATCH_ROWS staged rows at a time, each batch in one transaction with its progress, so a
 * job stopped anywhere resumes at its next batch. `shouldStop` is asked between batches.
 */
export async function runImportJob(
  deps: JobDeps,
  job: ImportJob,
  shouldStop: () => boolean,
): Promise<"finished" | "stopped"> {
  if (job.next_line === 0) await rejectInFileDuplicates(deps.db, job.id);
  let from = job.next_line;
  for (;;) {
    if (shouldStop()) return "stopped";
    const staged = await stagedRowsFrom(deps.db, job.id, from, IMPORT_BATCH_ROWS);
    if (staged.length === 0) return "finished";
    const last = (staged.at(-1) as { line: number }).line;
    const earlier = staged.filter((r) => r.error !== null).length;
    const candidates = staged
      .filter((r) => r.error === null && r.data !== null)
      .map((r) => ({ line: r.line, row: r.data as ImportRow }));
    await importBatch(deps, job, candidates, {
      from,
      to: last,
      staged: staged.length,
      earlier,
    });
    from = last + 1;
  }
}

const BATCH_ATTEMPTS = 4;

/** A statement timeout (57014), deadlock (40P01) or serialization failure (40001). */
const isLockWait = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "57014" || code === "40P01" || code === "40001";
};

type BatchRange = { from: number; to: number; staged: number; earlier: number };

/**
 * One batch: all of it in one transaction; when that fails (a deadlock with a concurrent import,
 * an organization deleted meanwhile), each row in a transaction of its own, so one bad row cannot
 * take the others down. A database outage is not a row's fault: it stops the job (to resume).
 */
async function importBatch(
  deps: JobDeps,
  job: ImportJob,
  candidates: Candidate[],
  range: BatchRange,
): Promise<void> {
  // A batch waiting on a concurrent import's rows can exceed the statement timeout or meet it in
  // a deadlock: both are retried (the other batch has committed by then) before going row by row.
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.db
        .transaction()
        .execute((tx) => writeBatch({ ...deps, db: tx }, job, candidates, range));
      return;
    } catch (error) {
      if (error instanceof ImportSuperseded) throw error;
      if (isLockWait(error) && attempt < BATCH_ATTEMPTS) continue;
      if (isDatabaseUnavailable(error) && !isLockWait(error)) throw error;
      break;
    }
  }
  // Each row tried alone (and undone) to learn its fate; the storable ones are then stored
  // together with the batch's progress.
  const outcomes: Rejection[] = [];
  const storable: Candidate[] = [];
  for (const candidate of candidates) {
    const fate = await tryAlone(deps, job, candidate);
    if (fate === "stored") storable.push(candidate);
    else outcomes.push(fate);
  }
  await deps.db.transaction().execute(async (tx) => {
    const again = await storeRows({ ...deps, db: tx }, job, storable);
    await settle({ ...deps, db: tx }, job, range, [...outcomes, ...again.rejected], again.stored);
  });
}

async function tryAlone(
  deps: JobDeps,
  job: ImportJob,
  candidate: Candidate,
): Promise<"stored" | Rejection> {
  try {
    await deps.db.transaction().execute(async (tx) => {
      const result = await storeRows({ ...deps, db: tx }, job, [candidate]);
      throw new RowOutcome(result.rejected);
    });
  } catch (outcome) {
    if (outcome instanceof RowOutcome) return outcome.rejected[0] ?? "stored";
    if (isDatabaseUnavailable(outcome)) throw outcome;
  }
  return { line: candidate.line, error: "CONFLICT: The row could not be stored" };
}

/** Carries a trial's result out of its transaction, undoing it. */
class RowOutcome extends Error {
  constructor(readonly rejected: Rejection[]) {
    super("row outcome");
  }
}

async function writeBatch(
  deps: JobDeps,
  job: ImportJob,
  candidates: Candidate[],
  range: BatchRange,
): Promise<void> {
  const result = await storeRows(deps, job, candidates);
  await settle(deps, job, range, result.rejected, result.stored);
}

async function settle(
  deps: JobDeps,
  job: ImportJob,
  range: BatchRange,
  rejected: Rejection[],
  stored: number,
): Promise<void> {
  const db = deps.db as Parameters<typeof settleStagedRows>[0];
  await settleStagedRows(db, job.id, range, rejected);
  const advanced = await advanceImportJob(db, job.id, range.from, {
    nextLine: range.to + 1,
    processed: range.staged,
    imported: stored,
    rejected: range.earlier + rejected.length,
  });
  if (!advanced) throw new ImportSuperseded(`import job ${job.id} was taken over`);
}

/**
 * Stores the rows that can be (a dry run only finds out which): unknown organizations and taken
 * emails or usernames are rejected; each stored user gets its memberships, its audit entry and,
 * without a password, its invitation, in the caller's transaction.
 */
async function storeRows(
  deps: JobDeps,
  job: ImportJob,
  candidates: Candidate[],
): Promise<{ stored: number; rejected: Rejection[] }> {
  const { db } = deps;
  const tx = db as Parameters<typeof insertImportedUsers>[0];
  const rejected: Rejection[] = [];
  const orgIds = [
    ...new Set(candidates.flatMap((c) => c.row.memberships.map((m) => m.organizationId))),
  ];
  const orgs = await existingOrganizationIds(db, orgIds);
  const placeable = candidates.filter((c) => {
    const missing = c.row.memberships.find((m) => !orgs.has(m.organizationId));
    if (missing) {
      rejected.push({
        line: c.line,
        error: `NOT_FOUND: Organization ${missing.organizationId} does not exist`,
      });
    }
    return !missing;
  });
  if (job.dry_run) {
    const taken = await takenUserKeys(
      db,
      placeable.map((c) => c.row.email.toLowerCase()),
      placeable.map((c) => c.row.username.toLowerCase()),
    );
    const free = placeable.filter((c) => {
      const reason = takenReason(c.row, taken);
      if (reason) rejected.push({ line: c.line, error: reason });
      return !reason;
    });
    return { stored: free.length, rejected };
  }
  // In one order, so concurrent imports of overlapping files meet their rows in the same order.
  placeable.sort((a, b) => (a.row.email.toLowerCase() < b.row.email.toLowerCase() ? -1 : 1));
  const inserted = await insertImportedUsers(tx, placeable.map(toUser));
  const storedLines = new Set(inserted.map((u) => u.line));
  const skipped = placeable.filter((c) => !storedLines.has(c.line));
  if (skipped.length > 0) {
    const taken = await takenUserKeys(
      db,
      skipped.map((c) => c.row.email.toLowerCase()),
      skipped.map((c) => c.row.username.toLowerCase()),
    );
    for (const c of skipped) {
      rejected.push({
        line: c.line,
        error: takenReason(c.row, taken) ?? "USERNAME_TAKEN: The username is already in use",
      });
    }
  }
  const byLine = new Map(placeable.map((c) => [c.line, c.row]));
  const membershipsOf = (user: { id: number; line: number }) =>
    (byLine.get(user.line)?.memberships ?? []).map((m) => ({ ...m, userId: user.id }));
  await insertImportedMemberships(tx, inserted.flatMap(membershipsOf));
  // Each stored user's `user.created`, then its memberships' `membership.created`: the whole
  // batch in one statement, in this transaction (a rolled-back batch or a dry run emits nothing).
  await recordEvents(
    tx,
    inserted.flatMap((user) => [
      userEvent("user.created", user),
      ...membershipsOf(user).map((m) => membershipEvent("membership.created", m)),
    ]),
  );
  for (const user of inserted) {
    if (byLine.get(user.line)?.passwordHash) continue;
    await queueTokenMail(tx, deps.config, { kind: "invitation", user, recipient: user.email });
  }
  await auditImportedUsers(
    tx,
    job.created_by,
    job.id,
    inserted.map((u) => u.id),
  );
  return { stored: inserted.length, rejected };
}

function takenReason(
  row: ImportRow,
  taken: { emails: Set<string>; usernames: Set<string> },
): string | undefined {
  if (taken.emails.has(row.email.toLowerCase())) {
    return "EMAIL_TAKEN: The email is already in use";
  }
  if (taken.usernames.has(row.username.toLowerCase())) {
    return "USERNAME_TAKEN: The username is already in use";
  }
  return undefined;
}

const toUser = ({ line, row }: Candidate): ImportedUser => ({
  line,
  email: row.email,
  username: row.username,
  first_name: row.firstName,
  last_name: row.lastName,
  role: row.role,
  status: row.passwordHash ? "active" : "invited",
  email_verified: row.emailVerified,
  password_hash: row.passwordHash ?? null,
});
