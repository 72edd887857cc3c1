// npm run db:migrate [-- latest | status | down] — on the configured database: applies every
// pending migration (the default), lists each migration as applied (with when) or pending, or
// reverts the last applied one. Refuses with one line while a service holds the embedded database.

import { formatMigrationStatus, migrateOneDown, migrationStatus } from "../db/migration-steps.ts";
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { loadConfig } from "../server/config.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

const USAGE = "usage: npm run db:migrate [-- latest | status | down]";
const command = process.argv[2] ?? "latest";
if (process.argv.length > 3 || !["latest", "status", "down"].includes(command)) {
  console.error(USAGE);
  process.exit(1);
}

const config = loadConfig();
const database = await refuseWhenInUse(() =>
  openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
);
try {
  if (command === "status") {
    for (const line of formatMigrationStatus(await migrationStatus(database.db))) {
      console.log(line);
    }
  } else if (command === "down") {
    const reverted = await migrateOneDown(database.db);
    console.log(
      reverted
        ? `reverted ${reverted} (${database.kind})`
        : `no migration applied (${database.kind})`,
    );
  } else {
    await migrateToLatest(database.db);
    console.log(`migrations applied (${database.kind})`);
  }
} catch (error) {
  // One line: the failing migration's error, or Kysely's refusal (say, an applied migration
  // missing from db/migrations, which `status` marks).
  process.exitCode = 1;
  console.error(`db:migrate ${command} failed: ${(error as Error).message}`);
} finally {
  await database.close();
}
