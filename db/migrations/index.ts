import type { Migration, MigrationProvider } from "kysely";
import * as initial from "./2026-11-26T0800-initial.ts";

/** Every migration, by name (names sort in the order they apply). Add new ones here. */
const migrations: Record<string, Migration> = {
  "2026-11-26T0800-initial": initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
