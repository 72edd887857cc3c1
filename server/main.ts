import { DataDirInUseError } from "../db/data-dir-lock.ts";
import { migrateToLatest } from "../db/open.ts";
import { ensureFirstAdmin } from "./accounts/first-admin.ts";
import { buildApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { buildDeps } from "./deps.ts";
import { AppError } from "./errors/api-errors.ts";
import { loggerOptions } from "./log-format.ts";

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
  const deps = await buildDeps(config, {
    logger: await loggerOptions(config, process.stdout.isTTY === true),
    mail: true,
    webhooks: true,
  }).catch((error: unknown) => {
    if (error instanceof DataDirInUseError) fail(error.message);
    throw error;
  });
  await migrateToLatest(deps.db);
  const app = await buildApp(deps);
  try {
    await ensureFirstAdmin(deps);
  } catch (error) {
    if (error instanceof AppError) fail(`Invalid setting ADMIN_PASSWORD: ${error.message}`);
    throw error;
  }
  // Started once the first admin exists; buildDeps leaves it to the caller, so a script or test
  // building the same world sends no mail.
  deps.mail?.worker.start();
  deps.webhooks?.start();

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
    // Closing the app closes its deps (closeDeps): the mail worker finishes the mail it is
    // sending and marks it while requests finish, then the transport, the password worker and
    // the database close.
    await app.close();
    clearTimeout(timer);
    app.log.info({ ms: Date.now() - started }, "stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  await app.listen({ port: config.PORT, host: config.HOST });
  const where = config.DATABASE_URL ? "PostgreSQL" : `embedded PGlite in ${config.DATA_DIR}`;
  app.log.info(
    `Users API at ${config.PUBLIC_URL}/api/users, docs at ${config.PUBLIC_URL}/docs (${where})`,
  );
}

await main();
