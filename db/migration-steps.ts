import { type Kysely, Migrator } from "kysely";
import type { Database } from "./database.ts";
import { migrationProvider } from "./migrations/index.ts";

export type MigrationState = { name: string; appliedAt: Date | undefined };

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: migrationProvider });
}

/** Every migration the code knows, in the order they apply, with when each was applied. */
export async function migrationStatus(db: Kysely<Database>): Promise<MigrationState[]> {
  const infos = await migrator(db).getMigrations();
  return infos.map(({ name, executedAt }) => ({ name, appliedAt: executedAt }));
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
      `${state.name.padEnd(width)}  ${state.appliedAt ? `applied ${state.appliedAt.toISOString()}` : "pending"}`,
  );
  const applied = states.filter((state) => state.appliedAt).length;
  lines.push(`${applied} applied, ${states.length - applied} pending`);
  return lines;
}
