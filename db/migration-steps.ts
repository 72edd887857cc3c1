import {
  type Kysely,
  type Migration,
  type MigrationResult,
  type MigrationResultSet,
  Migrator,
  sql,
} from "kysely";
import type { Database } from "./database.ts";
import { migrationProvider } from "./migrations/index.ts";

export type MigrationState = {
  name: string;
  appliedAt: Date | undefined;
  /** Applied to the database but not in db/migrations (say, from another branch): blocks `down`. */
  unknown?: true;
};

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: migrationProvider });
}

/** Serialises migration runs of every process on one database (any constant of our own). */
const MIGRATION_LOCK = 7316002;

/**
 * Runs `step` (migrations up or down) in one transaction that first takes a transaction-level
 * advisory lock. Kysely's own migration lock is a session-level advisory lock, taken and released
 * in statements of their own: through a transaction-mode pooler (PgBouncer) they may run on
 * different server connections, so the lock outlives the run on one and the next process to
 * migrate waits on it. In one transaction every statement (Kysely's lock and unlock too) runs on
 * one server connection, and the lock ends with the transaction whatever happens.
 */
export async function migrateInOneTransaction(
  db: Kysely<Database>,
  step: (migrator: Migrator) => Promise<MigrationResultSet>,
): Promise<MigrationResult[] | undefined> {
  // A failing migration aborts the transaction, so Kysely's unlock fails after it and would
  // hide its error: the migration's own error is kept here and thrown instead.
  let failure: unknown;
  const recording = (migration: Migration): Migration => {
    const run =
      (fn: (db: Kysely<unknown>) => Promise<void>) =>
      async (db: Kysely<unknown>): Promise<void> => {
        try {
          await fn(db);
        } catch (error) {
          failure = error;
          throw error;
        }
      };
    return { up: run(migration.up), ...(migration.down && { down: run(migration.down) }) };
  };
  const provider = {
    getMigrations: async () =>
      Object.fromEntries(
        Object.entries(await migrationProvider.getMigrations()).map(([name, migration]) => [
          name,
          recording(migration),
        ]),
      ),
  };
  return db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    try {
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK)})`.execute(connection);
      const migrator = new Migrator({ db: connection, provider, disableTransactions: true });
      const { error, results } = await step(migrator);
      if (error) throw error;
      await sql`commit`.execute(connection);
      return results;
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => {});
      throw failure ?? error;
    }
  });
}

/**
 * Every migration the code knows, with when each was applied, and any the database has applied
 * that the code does not know; in name order (the order they apply).
 */
export async function migrationStatus(db: Kysely<Database>): Promise<MigrationState[]> {
  const infos = await migrator(db).getMigrations();
  const known = new Set(infos.map((info) => info.name));
  const states: MigrationState[] = infos.map(({ name, executedAt }) => ({
    name,
    appliedAt: executedAt,
  }));
  for (const row of await appliedMigrations(db)) {
    if (!known.has(row.name)) {
      states.push({ name: row.name, appliedAt: new Date(row.timestamp), unknown: true });
    }
  }
  return states.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Kysely's record of applied migrations (none before the first migration ran). */
async function appliedMigrations(db: Kysely<Database>) {
  const { rows } = await sql<{
    present: boolean;
  }>`select to_regclass('kysely_migration') is not null as present`.execute(db);
  if (!rows[0]?.present) return [];
  return (
    await sql<{
      name: string;
      timestamp: string;
    }>`select name, timestamp from kysely_migration`.execute(db)
  ).rows;
}

/**
 * Reverts the last applied migration (its `down`, in a transaction) and returns its
 * name; undefined when none is applied. Throws with the failing migration's error.
 */
export async function migrateOneDown(db: Kysely<Database>): Promise<string | undefined> {
  const results = await migrateInOneTransaction(db, (migrator) => migrator.migrateDown());
  return results?.find((result) => result.status === "Success")?.migrationName;
}

/** One line per migration, names aligned, then a count: what `db:migrate -- status` prints. */
export function formatMigrationStatus(states: MigrationState[]): string[] {
  const width = Math.max(0, ...states.map((state) => state.name.length));
  const lines = states.map(
    (state) =>
      `${state.name.padEnd(width)}  ${state.appliedAt ? `applied ${state.appliedAt.toISOString()}` : "pending"}${state.unknown ? " (not in db/migrations)" : ""}`,
  );
  const applied = states.filter((state) => state.appliedAt).length;
  lines.push(`${applied} applied, ${states.length - applied} pending`);
  return lines;
}
