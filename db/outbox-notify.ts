import { type Kysely, sql, type Transaction } from "kysely";
import type { Database } from "./database.ts";
import { databaseEvents } from "./database-events.ts";

/** The channel the mail worker LISTENs on (PostgreSQL). */
export const MAIL_CHANNEL = "mail_outbox";

/**
 * Wakes the mail worker once the caller's transaction commits. Call it in the transaction that
 * queued the mail: PostgreSQL delivers the NOTIFY only on commit (nothing on rollback) and to
 * every server process listening on the database.
 *
 * The in-process signal is for PGlite, which is embedded in this one process: its single
 * connection belongs to the caller's transaction until it ends, so a worker woken now claims
 * only after the commit (and finds nothing after a rollback).
 */
export async function notifyMailQueued(
  db: Transaction<Database> | Kysely<Database>,
): Promise<void> {
  await sql`select pg_notify(${MAIL_CHANNEL}, '')`.execute(db);
  databaseEvents(db).emit("mailQueued");
}

/** Subscribes to this process's queue signal for this database; returns the unsubscribe function. */
export function onMailQueuedLocally(db: Kysely<Database>, listener: () => void): () => void {
  const events = databaseEvents(db);
  events.on("mailQueued", listener);
  return () => events.off("mailQueued", listener);
}
