import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { openDatabase } from "../../db/open.ts";
import { buildApp } from "../../server/app.ts";
import { loadConfig, SETTING_NAMES } from "../../server/config.ts";
import { buildDeps } from "../../server/deps.ts";
import { cleanEnv, ROOT, runNode } from "./spawn.ts";
import { openTestDatabase } from "./test-database.ts";

/**
 * The data a script under test works on (`db:seed`, `admin:create`): a PostgreSQL database of
 * the caller's own when the suite runs on PostgreSQL, else an embedded one in a fresh folder.
 * `run` starts the script on it as its own process (no setting of the test run leaks in);
 * `openApp` then builds the service on the same data, to see what the script left there.
 */
export async function createScriptDatabase() {
  const dataDir = mkdtempSync(join(tmpdir(), "users-script-"));
  const cleanups: Array<() => Promise<void>> = [];
  const pg = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
  if (pg) cleanups.push(pg.close);
  const where = pg?.url ? { DATABASE_URL: pg.url } : { DATA_DIR: dataDir };

  const run = (args: string[], input?: string) =>
    runNode(args, {
      cwd: ROOT,
      env: { ...cleanEnv(SETTING_NAMES), NODE_ENV: "test", LOG_LEVEL: "warn", ...where },
      ...(input !== undefined && { input }),
    });

  async function openApp(): Promise<FastifyInstance> {
    const database = pg ?? (await openDatabase({ dataDir }));
    if (!pg) cleanups.push(database.close);
    const config = loadConfig({
      NODE_ENV: "test",
      RATE_LIMIT: "off",
      LOG_LEVEL: "silent",
      // Never shed as load: test files share two busy cores (see test-app.ts).
      MAX_EVENT_LOOP_DELAY_MS: "0",
      ...where,
    });
    const app = await buildApp(await buildDeps(config, { db: database.db }));
    cleanups.push(async () => {
      await app.close();
    });
    return app;
  }

  async function close(): Promise<void> {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }

  return { run, openApp, close };
}
