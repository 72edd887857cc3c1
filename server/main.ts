import { migrateToLatest, openDatabase } from "../db/open.ts";
import { buildApp, LOG_REDACT } from "./app.ts";
import { createTokenService } from "./auth/tokens.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { ensureFirstAdmin } from "./first-admin.ts";
import { closePasswordWorker } from "./passwords/policy.ts";

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
  });
  await migrateToLatest(database.db);
  const tokens = createTokenService(config);
  const app = await buildApp(
    { db: database.db, config, tokens },
    { logger: { level: config.LOG_LEVEL, redact: LOG_REDACT } },
  );
  app.addHook("onClose", async () => {
    await closePasswordWorker();
    await database.close();
  });
  await ensureFirstAdmin({ db: database.db, config, log: app.log });

  const shutdown = async (signal: string) => {
    app.log.info({ signal }, "shutting down");
    await app.close();
    process.exit(0);
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);

  await app.listen({ port: config.PORT, host: config.HOST });
  const database_ =
    database.kind === "pglite" ? `embedded PGlite in ${config.DATA_DIR}` : "PostgreSQL";
  app.log.info(
    `Users API at ${config.PUBLIC_URL}/api/users, docs at ${config.PUBLIC_URL}/docs (${database_})`,
  );
}

await main();
