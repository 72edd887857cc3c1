// npm run admin:create -- <email> — creates an AppAdmin in the configured database.
// The password comes from ADMIN_PASSWORD, or is asked for on the terminal without echo (or read
// as the first line of a pipe); never an argument, so it stays out of shell history and process
// lists. Prints one line: what it did, or why not.
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { ensureFirstAdmin } from "../server/accounts/first-admin.ts";
import { ConfigError, environment, loadConfig } from "../server/config.ts";
import { buildDeps, closeDeps } from "../server/deps.ts";
import { AppError } from "../server/errors/api-errors.ts";
import { readPassword } from "./read-password.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

const env = environment();
const email = process.argv[2] ?? env.ADMIN_EMAIL;
if (!email) {
  console.error(
    "usage: npm run admin:create -- <email>   (password from ADMIN_PASSWORD or a prompt)",
  );
  process.exit(2);
}
// The database first: a server holding the embedded one is named before a password is asked.
const where = loadConfig({ ...env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
const database = await refuseWhenInUse(() =>
  openDatabase({ databaseUrl: where.DATABASE_URL, dataDir: where.DATA_DIR }),
);
const deps = await buildDeps(where, { database });
const password = env.ADMIN_PASSWORD || (await askPassword());
try {
  if (!password) throw new ConfigError("no password given; nothing was created");
  const config = loadConfig({ ...env, ADMIN_EMAIL: email, ADMIN_PASSWORD: password });
  await migrateToLatest(deps.db);
  // Its log line would repeat, as an object, the one line printed below.
  const result = await ensureFirstAdmin({ ...deps, config, log: { info: () => {} } });
  console.log(
    result === "created" ? `AppAdmin ${email} created` : `a user with ${email} already exists`,
  );
} catch (error) {
  if (error instanceof AppError) console.error(`${error.apiCode}: ${error.message}`);
  else if (error instanceof ConfigError) console.error(error.message);
  else throw error;
  process.exitCode = 1;
} finally {
  await closeDeps(deps);
}

/** Asks on a terminal twice (nothing is echoed, so a typo would go unseen); reads a pipe once. */
async function askPassword(): Promise<string> {
  const password = await readPassword("Password for the new AppAdmin: ");
  if (!process.stdin.isTTY) return password;
  if ((await readPassword("Repeat the password: ")) !== password) {
    console.error("the passwords differ; nothing was created");
    await closeDeps(deps);
    process.exit(1);
  }
  return password;
}
