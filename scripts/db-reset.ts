// npm run db:reset [-- --yes] — deletes every row of the configured database and migrates it
// afresh: on the embedded PGlite it removes DATA_DIR/pglite; on PostgreSQL (DATABASE_URL) it
// drops and recreates the `public` schema. Generated keys and .eml mails under DATA_DIR stay.
// Asks for confirmation unless --yes; refuses when NODE_ENV=production.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { sql } from "kysely";
import { lockDataDir } from "../db/data-dir-lock.ts";
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { ConfigError, loadConfig } from "../server/config.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
if (config.NODE_ENV === "production") fail("db:reset refuses to run with NODE_ENV=production");
if (config.DATA_DIR.startsWith("memory://")) fail("DATA_DIR is in memory: nothing to reset");

const pgliteDir = join(config.DATA_DIR, "pglite");
const target = config.DATABASE_URL
  ? `the public schema of PostgreSQL database ${describeUrl(config.DATABASE_URL)}`
  : `the embedded database in ${pgliteDir}`;

// The embedded database is locked before asking: a server running on it refuses the reset.
const lock = config.DATABASE_URL
  ? undefined
  : await refuseWhenInUse(() => lockDataDir(config.DATA_DIR));

if (!process.argv.includes("--yes")) {
  if (!process.stdin.isTTY) fail(`db:reset would delete ${target}; run it with --yes to confirm`);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(
    `This deletes every user, session, organization and mail in ${target}.\nType "reset" to continue: `,
  );
  rl.close();
  if (answer.trim() !== "reset") fail("nothing changed");
}

if (config.DATABASE_URL) {
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: "memory://" });
  try {
    console.log(`dropping the public schema of ${describeUrl(config.DATABASE_URL)}…`);
    await sql`drop schema if exists public cascade`.execute(database.db);
    await sql`create schema public`.execute(database.db);
    console.log("migrating…");
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
} else {
  if (existsSync(pgliteDir)) {
    console.log(`removing ${pgliteDir}…`);
    rmSync(pgliteDir, { recursive: true, force: true });
  }
  console.log("migrating…");
  const database = await openDatabase({ dataDir: config.DATA_DIR, ...(lock && { lock }) });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
}
console.log(`reset done: ${target} is empty and migrated. Next: npm run db:seed`);

/** host:port/database, without the user or password. */
function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}
