import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** Where the service announces that a caller wrote: payload `<callerId>:<lsn as bytes>`. */
export const CALLER_WROTE_CHANNEL = "caller_wrote";

/** A WAL position (`0/16B3748`) as a number that compares. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!match) throw new Error(`not a WAL position: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/**
 * The primary's WAL position now, after this caller's write, announced to every process
 * (`<callerId>:<lsn>` on CALLER_WROTE_CHANNEL): one round trip for both.
 */
export async function announceWrite(db: Kysely<Database>, callerId: number): Promise<bigint> {
  // The position goes out as a decimal byte offset: `<callerId>:<bytes>`.
  const { rows } = await sql<{ lsn: string }>`
    select lsn, pg_notify(${CALLER_WROTE_CHANNEL}, ${`${callerId}:`} || lsn)
      from (select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as lsn) as now`.execute(db);
  return BigInt(rows[0]?.lsn ?? "");
}

/** Which cluster a server belongs to (a replica made by pg_basebackup shares its primary's). */
export type ServerPosition = {
  systemId: string;
  inRecovery: boolean;
  /** The database the connection is on (a replica's URL must name the primary's). */
  database: string;
  /** When the server started (tells the primary itself from a promoted copy of it). */
  startedAt: string;
  /** A replica's replayed position; a primary's current one. */
  lsn: bigint;
};

/** The server's cluster, role and WAL position, in one query. */
export async function serverPosition(db: Kysely<Database>): Promise<ServerPosition> {
  const { rows } = await sql<{
    system_id: string;
    in_recovery: boolean;
    database: string;
    started_at: string;
    lsn: string | null;
  }>`
    select (select system_identifier::text from pg_control_system()) as system_id,
           pg_is_in_recovery() as in_recovery,
           current_database() as database,
           pg_postmaster_start_time()::text as started_at,
           (case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
                 else pg_current_wal_lsn() end)::text as lsn`.execute(db);
  const row = rows[0];
  if (!row?.lsn) throw new Error("the server reports no WAL position");
  return {
    systemId: row.system_id,
    inRecovery: row.in_recovery,
    database: row.database,
    startedAt: row.started_at,
    lsn: parseLsn(row.lsn),
  };
}
