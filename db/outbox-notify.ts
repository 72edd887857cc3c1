import { EventEmitter } from "node:events";
import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** The channel the mail worker LISTENs on (PostgreSQL). */
export const MAIL_CHANNEL = "mail_outbox";

const local = new EventEmitter();
local.setMaxListeners(0);

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
  local.emit("queued");
}

/** Subscribes to this process's queue signal; returns the unsubscribe function. */
export function onMailQueuedLocally(listener: () => void): () => void {
  local.on("queued", listener);
  return () => local.off("queued", listener);
}
