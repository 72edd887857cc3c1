import { randomUUID } from "node:crypto";
import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";
import { databaseEvents } from "./database-events.ts";

export type OutgoingMail = {
  userId: number | null;
  kind: string;
  recipient: string;
  payload: Record<string, unknown>;
};

/**
 * Queues a mail in the caller's transaction: it is sent only if the change that caused it
 * commits, and wakes the mail worker at commit. The Message-ID is fixed now so a resend after a
 * crash can be de-duplicated.
 */
export async function enqueueMail(
  db: Kysely<Database>,
  mail: OutgoingMail,
  domain: string,
): Promise<void> {
  await db
    .insertInto("mail_outbox")
    .values({
      user_id: mail.userId,
      kind: mail.kind,
      recipient: mail.recipient,
      payload: JSON.stringify(mail.payload),
      message_id: newMessageId(domain),
    })
    .execute();
  await notifyMailQueued(db);
}

/** A fresh Message-ID of this domain. */
export const newMessageId = (domain: string) => `<${randomUUID()}@${domain}>`;

/** The channel the mail worker LISTENs on (PostgreSQL). */
export const MAIL_CHANNEL = "mail_outbox";

/** Mails waiting to be sent, and how long the oldest of them has waited (seconds; 0 if none). */
export async function outboxBacklog(
  db: Kysely<Database>,
): Promise<{ queued: number; oldestAgeSeconds: number }> {
  const { rows } = await sql<{ queued: number; oldest_age: number | null }>`
    select count(*)::int as queued,
           extract(epoch from now() - min(created_at))::float8 as oldest_age
      from mail_outbox where status = 'queued'`.execute(db);
  return { queued: rows[0]?.queued ?? 0, oldestAgeSeconds: rows[0]?.oldest_age ?? 0 };
}

/**
 * Wakes the mail worker once the caller's transaction commits. Call it in the transaction that
 * queued the mail: PostgreSQL delivers the NOTIFY only on commit (nothing on rollback) and to
 * every server process listening on the database.
 *
 * The in-process signal is for PGlite, which is embedded in this one process: its single
 * connection belongs to the caller's transaction until it ends, so a worker woken now claims
 * only after the commit (and finds nothing after a rollback).
 */
export async function notifyMailQueued(db: Kysely<Database>): Promise<void> {
  await sql`select pg_notify(${MAIL_CHANNEL}, '')`.execute(db);
  mailQueuedHere(db);
}

/** The in-process half of notifyMailQueued, for a statement that sent the NOTIFY itself. */
export function mailQueuedHere(db: Kysely<Database>): void {
  databaseEvents(db).emit("mailQueued");
}

/** Subscribes to this process's queue signal for this database; returns the unsubscribe function. */
export function onMailQueuedLocally(db: Kysely<Database>, listener: () => void): () => void {
  const events = databaseEvents(db);
  events.on("mailQueued", listener);
  return () => events.off("mailQueued", listener);
}

/** A queued mail the worker has leased for sending. */
export type ClaimedMail = {
  id: number;
  kind: string;
  recipient: string;
  payload: Record<string, unknown> | null;
  message_id: string;
  /** Delivery attempts so far, this one included. */
  attempts: number;
};

/** A claim: the mail's id and its attempt count at the claim, which fences later writes. */
export type MailClaim = Pick<ClaimedMail, "id" | "attempts">;

/**
 * Claims up to `limit` due mails in one statement (its own short transaction): rows another
 * worker is claiming right now are skipped (FOR UPDATE SKIP LOCKED), and each claimed row's
 * `next_attempt_at` moves `leaseSeconds` ahead, so no other process takes it while it is being
 * sent (the worker renews the lease while it sends: renewMailLeases), and a process that dies
 * mid-send leaves it to be retried when the short lease runs out.
 * The attempt is counted here, so a mail that crashes the process each time still runs out of
 * attempts. The count also fences the claim: a later claim of the same mail (after this one's
 * lease ran out) counts another attempt, so what this claimer writes afterwards — a renewal, a
 * retry, a release — matches no row and cannot undo the newer claim.
 */
export async function claimDueMails(
  db: Kysely<Database>,
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedMail[]> {
  const rows = await db
    .with("due", (qb) =>
      qb
        .selectFrom("mail_outbox")
        .select("id")
        .where("status", "=", "queued")
        .where("next_attempt_at", "<=", sql<Date>`now()`)
        .orderBy("next_attempt_at")
        .orderBy("id")
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .updateTable("mail_outbox")
    .from("due")
    .set({
      next_attempt_at: sql`now() + make_interval(secs => ${leaseSeconds})`,
      attempts: sql`mail_outbox.attempts + 1`,
    })
    .whereRef("mail_outbox.id", "=", "due.id")
    .returning([
      "mail_outbox.id",
      "mail_outbox.kind",
      "mail_outbox.recipient",
      "mail_outbox.payload",
      "mail_outbox.message_id",
      "mail_outbox.attempts",
    ])
    .execute();
  return rows.sort((a, b) => a.id - b.id);
}

/** Delivered: the payload (which holds the raw emailed token) is dropped. */
export const markMailSent = (db: Kysely<Database>, id: number) =>
  db
    .updateTable("mail_outbox")
    .set({ status: "sent", sent_at: sql`now()`, payload: null, last_error: null })
    .where("id", "=", id)
    .where("status", "=", "queued")
    .execute();

/**
 * Extends the leases of mails still being sent by `leaseSeconds` from now (the worker's
 * heartbeat); mails claimed again by another worker since are left alone.
 */
export async function renewMailLeases(
  db: Kysely<Database>,
  claims: MailClaim[],
  leaseSeconds: number,
): Promise<void> {
  if (claims.length === 0) return;
  await db
    .updateTable("mail_outbox")
    .set({ next_attempt_at: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where(whereClaimed(claims))
    .execute();
}

/** Failed this time: tried again after `delaySeconds`. */
export const rescheduleMail = (
  db: Kysely<Database>,
  claim: MailClaim,
  delaySeconds: number,
  error: string,
) =>
  db
    .updateTable("mail_outbox")
    .set({
      next_attempt_at: sql`now() + make_interval(secs => ${delaySeconds})`,
      last_error: error,
    })
    .where(whereClaimed([claim]))
    .execute();

/** Given up: never tried again, and the payload (with its token) is dropped. */
export const abandonMail = (db: Kysely<Database>, claim: MailClaim, error: string) =>
  db
    .updateTable("mail_outbox")
    .set({ status: "abandoned", payload: null, last_error: error })
    .where(whereClaimed([claim]))
    .execute();

/** Hands claimed but unsent mails back (a worker stopping): due now, the attempt not counted. */
export async function releaseMails(db: Kysely<Database>, claims: MailClaim[]): Promise<void> {
  if (claims.length === 0) return;
  await db
    .updateTable("mail_outbox")
    .set({ next_attempt_at: sql`now()`, attempts: sql`greatest(attempts - 1, 0)` })
    .where(whereClaimed(claims))
    .execute();
}

/** Queued rows still held by these claims (not claimed again since). */
const whereClaimed = (claims: MailClaim[]) => (eb: ExpressionBuilder<Database, "mail_outbox">) =>
  eb.and([
    eb("status", "=", "queued"),
    eb.or(claims.map((c) => eb.and([eb("id", "=", c.id), eb("attempts", "=", c.attempts)]))),
  ]);

/** A user's mails, newest first, without the payload. */
export const listUserMails = (db: Kysely<Database>, userId: number, limit: number) =>
  db
    .selectFrom("mail_outbox")
    .select([
      "id",
      "kind",
      "recipient",
      "status",
      "attempts",
      "created_at",
      "sent_at",
      "last_error",
    ])
    .where("user_id", "=", userId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();

/**
 * Takes a queued row out of the outbox in the caller's transaction (a job that the worker turns
 * into mails); false when it is gone already (another worker resolved it).
 */
export async function takeQueuedRow(db: Kysely<Database>, id: number): Promise<boolean> {
  const taken = await db
    .deleteFrom("mail_outbox")
    .where("id", "=", id)
    .where("status", "=", "queued")
    .returning("id")
    .executeTakeFirst();
  return taken !== undefined;
}
