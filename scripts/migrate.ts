// npm run db:migrate — applies every pending migration to the configured database.
import { migrateToLatest, openDatabase } from "../db/open.ts";
import { loadConfig } from "../server/config.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

const config = loadConfig();
const database = await refuseWhenInUse(() =>
  openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
);
try {
  await migrateToLatest(database.db);
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
