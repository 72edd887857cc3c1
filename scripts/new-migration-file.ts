import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A refusal to print as one line (bad name, file already there, index not understood). */
export class NewMigrationError extends Error {}

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const IMPORT_LINE = /^import \* as (\w+) from "\.\/([^"]+)\.ts";$/;
const ENTRY_LINE = /^ {2}"([^"]+)": (\w+),$/;

const TEMPLATE = `import type { Kysely } from "kysely";

// Typed Kysely<any> and importing no app code on purpose: a migration describes the schema as it
// was when it was written.
export async function up(db: Kysely<any>): Promise<void> {
  // e.g. await db.schema.alterTable("users").addColumn("phone", "text").execute();
}

// Undoes exactly what up did, so that \`npm run db:migrate -- down\` can step back over it.
export async function down(db: Kysely<any>): Promise<void> {
  // e.g. await db.schema.alterTable("users").dropColumn("phone").execute();
}
`;

/** 2026-11-28T1405: the migration's date, in UTC, as the existing migrations are named. */
export function migrationStamp(now: Date): string {
  return now.toISOString().slice(0, 16).replace(":", "");
}

/**
 * Writes `<dir>/<stamp>-<name>.ts` with an `up` and a `down`, and registers it in
 * `<dir>/index.ts`: an import and an entry of the `migrations` record, each in name order.
 */
export function createMigration(options: { name: string; dir: string; now: Date }): {
  migration: string;
  file: string;
} {
  const { name, dir, now } = options;
  if (!NAME.test(name)) {
    throw new NewMigrationError(
      `bad migration name "${name}": use a-z, 0-9 and single dashes, like add-user-phone`,
    );
  }
  const migration = `${migrationStamp(now)}-${name}`;
  const file = join(dir, `${migration}.ts`);
  if (existsSync(file)) throw new NewMigrationError(`${file} already exists`);

  const indexFile = join(dir, "index.ts");
  const index = registerMigration(readFileSync(indexFile, "utf8"), migration);
  // "wx": never overwrite a file that appeared since the check above.
  writeFileSync(file, TEMPLATE, { flag: "wx" });
  writeFileSync(indexFile, index);
  return { migration, file };
}

/** index.ts's text with `migration` imported and listed, both kept in name order. */
export function registerMigration(index: string, migration: string): string {
  const lines = index.split("\n");
  const imports = lines.flatMap((line, at) => {
    const match = IMPORT_LINE.exec(line);
    return match ? [{ at, identifier: match[1] as string, name: match[2] as string }] : [];
  });
  const entries = lines.flatMap((line, at) => {
    const match = ENTRY_LINE.exec(line);
    return match ? [{ at, name: match[1] as string }] : [];
  });
  if (imports.length === 0 || entries.length === 0) {
    throw new NewMigrationError("db/migrations/index.ts no longer lists migrations as expected");
  }
  const identifier = uniqueIdentifier(
    migration,
    imports.map((entry) => entry.identifier),
  );
  // The entry first: it comes after the imports, so inserting it leaves their positions alone.
  const entryAt =
    entries.find((entry) => entry.name > migration)?.at ?? (entries.at(-1)?.at as number) + 1;
  lines.splice(entryAt, 0, `  "${migration}": ${identifier},`);
  const importAt =
    imports.find((entry) => entry.name > migration)?.at ?? (imports.at(-1)?.at as number) + 1;
  lines.splice(importAt, 0, `import * as ${identifier} from "./${migration}.ts";`);
  return lines.join("\n");
}

/** add-user-phone → addUserPhone (m2faCodes for 2fa-codes), numbered when already taken. */
function uniqueIdentifier(migration: string, taken: string[]): string {
  const kebab = migration.replace(/^\d{4}-\d{2}-\d{2}T\d{4}-/, "");
  const camel = kebab.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
  const base = /^\d/.test(camel) ? `m${camel}` : camel;
  let identifier = base;
  for (let n = 2; taken.includes(identifier); n++) identifier = `${base}${n}`;
  return identifier;
}
