import { type Kysely, Migrator, sql } from "kysely";
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
 * Reverts the last applied migration (its `down`, in a transaction on PostgreSQL) and returns its
 * name; undefined when none is applied. Throws with the failing migration's error.
 */
export async function migrateOneDown(db: Kysely<Database>): Promise<string | undefined> {
  const { error, results } = await migrator(db).migrateDown();
  if (error) throw error;
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
