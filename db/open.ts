import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.ts";
import type { Database } from "./database.ts";
import { DatabaseEventsPlugin } from "./database-events.ts";
import { migrateInOneTransaction } from "./migration-steps.ts";
import { PGliteDialect } from "./pglite-dialect.ts";

export type DatabaseOptions = {
  /** postgres://… for PostgreSQL; unset for the embedded PGlite database. */
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files; "memory://" keeps them in memory (tests). */
  dataDir: string;
  poolMax?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** PGlite: a lock of `dataDir` the caller already holds (taken here otherwise, see lockDataDir). */
  lock?: DataDirLock;
};

/** A PostgreSQL pool's connections now: open, idle, and callers waiting for one. */
export type PoolStats = { total: number; idle: number; waiting: number };

export type DatabaseHandle = {
  db: Kysely<Database>;
  kind: "postgres" | "pglite";
  /** PostgreSQL only. */
  poolStats?: () => PoolStats;
  close: () => Promise<void>;
};

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolMax ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      statement_timeout: options.statementTimeoutMs ?? 5000,
      // statement_timeout is enforced by the server, so it cannot fire when the server does not
      // answer at all (frozen, partitioned): the client gives up a little later (→ 503).
      query_timeout: (options.statementTimeoutMs ?? 5000) + 1000,
      keepAlive: true,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on("error", () => {});
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      plugins: [new DatabaseEventsPlugin()],
    });
    return {
      db,
      kind: "postgres",
      poolStats: () => ({
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
      }),
      close: () => db.destroy(),
    };
  }
  if (options.dataDir.startsWith("memory://")) {
    const db = await openPGlite(options.dataDir);
    return { db, kind: "pglite", close: () => db.destroy() };
  }
  // One process only: a second one (a script beside the server) would corrupt the files.
  const lock = options.lock ?? lockDataDir(options.dataDir);
  try {
    const db = await openPGlite(ensureDir(join(options.dataDir, "pglite")));
    return {
      db,
      kind: "pglite",
      close: async () => {
        await db.destroy();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function openPGlite(dataDir: string): Promise<Kysely<Database>> {
  // Loaded only when used: the embedded database's module alone costs ~37 MiB of memory.
  const [{ PGlite }, { pg_trgm }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
  ]);
  // pg_trgm backs `contains` filters with an index, as on PostgreSQL.
  const pglite = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  return new Kysely<Database>({
    dialect: new PGliteDialect(pglite),
    plugins: [new DatabaseEventsPlugin()],
  });
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  await migrateInOneTransaction(db, (migrator) => migrator.migrateToLatest());
}
