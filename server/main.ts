import { DataDirInUseError } from "../db/data-dir-lock.ts";
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { ensureFirstAdmin } from "./accounts/first-admin.ts";
import { buildApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { AppError } from "./errors/api-errors.ts";
import { loggerOptions } from "./log-format.ts";
import { createMailTransport } from "./mail/transport.ts";
import { createMailWorker } from "./mail/worker.ts";
import { configureHashing } from "./passwords/hash.ts";
import { closePasswordWorker } from "./passwords/policy.ts";

/** Prints one line and stops: how start-up reports a setting it cannot work with. */
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  configureHashing({ concurrency: config.HASH_CONCURRENCY, maxQueue: config.HASH_MAX_QUEUE });
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
  }).catch((error: unknown) => {
    if (error instanceof DataDirInUseError) fail(error.message);
    throw error;
  });
  await migrateToLatest(database.db);
  const app = await buildApp(
    { db: database.db, config },
    { logger: await loggerOptions(config, process.stdout.isTTY === true) },
  );
  try {
    await ensureFirstAdmin({ db: database.db, config, log: app.log });
  } catch (error) {
    if (error instanceof AppError) fail(`Invalid setting ADMIN_PASSWORD: ${error.message}`);
    throw error;
  }

  const mailLog = app.log.child({ component: "mail" });
  const mailTransport = createMailTransport(config, mailLog);
  const mailWorker = createMailWorker({
    db: database.db,
    config,
    transport: mailTransport,
    log: mailLog,
    kind: database.kind,
    databaseUrl: config.DATABASE_URL,
    leaseSeconds: config.MAIL_LEASE_SECONDS,
  });
  mailWorker.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    app.log.info({ signal }, "draining: new requests get 503, requests in flight finish");
    app.startDraining();
    // Requests still running after the timeout are cut so a deploy never hangs.
    const timer = setTimeout(() => app.server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS);
    // What still runs after that (a statement the database does not answer keeps the pool
    // from closing) must not hold the exit either.
    const hardStop = setTimeout(() => {
      app.log.warn({ ms: Date.now() - started }, "shutdown timeout: exiting with work in flight");
      process.exit(0);
    }, config.SHUTDOWN_TIMEOUT_MS + 1000);
    hardStop.unref();
    // The worker finishes the mail it is sending and marks it before the database closes.
    await Promise.all([app.close(), mailWorker.stop()]);
    clearTimeout(timer);
    mailTransport.close();
    await closePasswordWorker();
    await database.close();
    app.log.info({ ms: Date.now() - started }, "stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  await app.listen({ port: config.PORT, host: config.HOST });
  const where = database.kind === "pglite" ? `embedded PGlite in ${config.DATA_DIR}` : "PostgreSQL";
  app.log.info(
    `Users API at ${config.PUBLIC_URL}/api/users, docs at ${config.PUBLIC_URL}/docs (${where})`,
  );
}

await main();
