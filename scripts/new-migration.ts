// npm run db:new-migration -- <name> [--dir <folder>] — writes
// db/migrations/<YYYY-MM-DDTHHMM>-<name>.ts (the time in UTC) with an empty `up` and `down`, and
// registers it in db/migrations/index.ts. --dir writes into another migrations folder instead.
import { fileURLToPath } from "node:url";
import { createMigration, NewMigrationError } from "./new-migration-file.ts";

const USAGE = "usage: npm run db:new-migration -- <name> [--dir <folder>]";
const args = process.argv.slice(2);
const dirAt = args.indexOf("--dir");
const dir =
  dirAt === -1 ? fileURLToPath(new URL("../db/migrations", import.meta.url)) : args[dirAt + 1];
const rest = dirAt === -1 ? args : args.filter((_, at) => at !== dirAt && at !== dirAt + 1);
if (!dir || rest.length !== 1) {
  console.error(USAGE);
  process.exit(1);
}

try {
  const { file } = createMigration({ name: rest[0] as string, dir, now: new Date() });
  console.log(`created ${file}; write its up and down, then: npm run db:migrate`);
} catch (error) {
  if (!(error instanceof NewMigrationError)) throw error;
  console.error(error.message);
  process.exit(1);
}
