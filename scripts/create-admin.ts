// npm run admin:create -- <email> — creates an AppAdmin in the configured database.
// The password comes from ADMIN_PASSWORD, or is asked for on the terminal (never an argument,
// so it stays out of shell history and process lists).
import { createInterface } from "node:readline/promises";
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { loadConfig } from "../server/config.ts";
import { AppError } from "../server/errors.ts";
import { ensureFirstAdmin } from "../server/first-admin.ts";
import { closePasswordWorker } from "../server/passwords/policy.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

const email = process.argv[2] ?? process.env.ADMIN_EMAIL;
if (!email) {
  console.error(
    "usage: npm run admin:create -- <email>   (password from ADMIN_PASSWORD or a prompt)",
  );
  process.exit(2);
}
// The database first: a server holding the embedded one is named before a password is asked.
const where = loadConfig({ ...process.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
const database = await refuseWhenInUse(() =>
  openDatabase({ databaseUrl: where.DATABASE_URL, dataDir: where.DATA_DIR }),
);
let password = process.env.ADMIN_PASSWORD;
if (!password) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  password = await rl.question("Password for the new AppAdmin: ");
  rl.close();
}
const config = loadConfig({ ...process.env, ADMIN_EMAIL: email, ADMIN_PASSWORD: password });
try {
  await migrateToLatest(database.db);
  const result = await ensureFirstAdmin({ db: database.db, config, log: console });
  console.log(
    result === "created" ? `AppAdmin ${email} created` : `a user with ${email} already exists`,
  );
} catch (error) {
  if (!(error instanceof AppError)) throw error;
  console.error(`${error.apiCode}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await closePasswordWorker();
  await database.close();
}
