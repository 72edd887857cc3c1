// Migrations step both ways: every migration's `down` undoes exactly what its `up` did (the schema
// after each step down is the one that step's `up` found), `npm run db:migrate -- status | down`
// report and step through the script (still refusing while a service holds the embedded
// database), and `npm run db:new-migration` writes a dated file and registers it in order.

import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Kysely, type MigrationProvider, Migrator, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockDataDir } from "../../db/data-dir-lock.ts";
import type { Database } from "../../db/database.ts";
import {
  formatMigrationStatus,
  migrateOneDown,
  migrationStatus,
} from "../../db/migration-steps.ts";
import { migrationProvider } from "../../db/migrations/index.ts";
import { createMigration, NewMigrationError } from "../../scripts/new-migration-file.ts";
import { openTestDatabase } from "../helpers/test-database.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MIGRATIONS_DIR = join(REPO_ROOT, "db/migrations");
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{4}-[a-z0-9-]+$/;

type Run = { status: number | null; stdout: string; stderr: string };

/** Runs a script of the repository as `npm run` would, with `env` on top of this process's. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", ...env } },
      (error, stdout, stderr) =>
        resolve({ status: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

/** Everything a migration can create in the public schema (Kysely's own tables aside). */
async function schemaOf(db: Kysely<Database>) {
  const query = async (statement: string) =>
    (await sql.raw<Record<string, unknown>>(statement).execute(db)).rows;
  return {
    columns: await query(`select table_name, column_name, data_type, is_nullable, column_default
      from information_schema.columns
      where table_schema = 'public' and table_name not like 'kysely_%' order by 1, 2`),
    indexes: await query(`select indexname, indexdef from pg_indexes
      where schemaname = 'public' and tablename not like 'kysely_%' order by 1`),
    constraints: await query(`select conname, conrelid::regclass::text as tbl,
        pg_get_constraintdef(oid) as def from pg_constraint
      where connamespace = 'public'::regnamespace and conrelid::regclass::text not like 'kysely_%'
      order by 2, 1`),
    triggers: await query(`select tgname, tgrelid::regclass::text as tbl from pg_trigger
      where not tgisinternal order by 1`),
    // Functions of extensions (pg_trgm's) are the extension's, not a migration's.
    functions: await query(`select proname from pg_proc p
      where pronamespace = 'public'::regnamespace
        and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
      order by 1`),
  };
}

describe("every migration steps down and back up", { timeout: 120_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("reverts one migration at a time to an empty schema, and each up rebuilds what it found", async () => {
    const { db } = database;
    const names = Object.keys(await migrationProvider.getMigrations()).sort();
    const atLatest = await migrationStatus(db);
    expect(atLatest.map((state) => state.name)).toEqual(names);
    for (const state of atLatest) expect(state.appliedAt).toBeInstanceOf(Date);

    // schemas[i]: the schema with the first i migrations applied.
    const schemas: Array<Awaited<ReturnType<typeof schemaOf>>> = [];
    schemas[names.length] = await schemaOf(db);
    for (let i = names.length - 1; i >= 0; i--) {
      expect(await migrateOneDown(db)).toBe(names[i]);
      const states = await migrationStatus(db);
      expect(states.filter((state) => state.appliedAt).map((state) => state.name)).toEqual(
        names.slice(0, i),
      );
      schemas[i] = await schemaOf(db);
      expect(schemas[i]).not.toEqual(schemas[i + 1]);
    }
    expect(schemas[0]).toEqual({
      columns: [],
      indexes: [],
      constraints: [],
      triggers: [],
      functions: [],
    });
    expect(await migrateOneDown(db)).toBeUndefined();
    expect(formatMigrationStatus(await migrationStatus(db)).at(-1)).toBe(
      `0 applied, ${names.length} pending`,
    );

    const migrator = new Migrator({ db, provider: migrationProvider });
    for (let i = 1; i <= names.length; i++) {
      const { error, results } = await migrator.migrateUp();
      expect(error).toBeUndefined();
      expect(results?.map((result) => result.migrationName)).toEqual([names[i - 1]]);
      expect(await schemaOf(db)).toEqual(schemas[i]);
    }
    const lines = formatMigrationStatus(await migrationStatus(db));
    expect(lines.at(-1)).toBe(`${names.length} applied, 0 pending`);
  });
});

describe("a migration applied to the database but missing from db/migrations", () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("is listed by status as unknown, and down refuses rather than guess", async () => {
    const { db } = database;
    const orphan = "2099-01-01T0000-from-another-branch";
    await sql`insert into kysely_migration (name, timestamp) values (${orphan}, ${"2026-11-27T10:00:00.000Z"})`.execute(
      db,
    );
    const lines = formatMigrationStatus(await migrationStatus(db));
    expect(lines.at(-2)).toMatch(
      new RegExp(`^${orphan} +applied 2026-11-27T10:00:00.000Z \\(not in db/migrations\\)$`),
    );
    await expect(migrateOneDown(db)).rejects.toThrow(orphan);
    const names = Object.keys(await migrationProvider.getMigrations());
    expect((await migrationStatus(db)).filter((state) => state.appliedAt)).toHaveLength(
      names.length + 1,
    );
  });
});

describe("npm run db:migrate -- status | down | latest", { timeout: 180_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>> | undefined;
  let dataDir: string | undefined;
  let env: Record<string, string>;
  const names = readdirSync(MIGRATIONS_DIR)
    .filter((file) => file !== "index.ts")
    .map((file) => file.replace(/\.ts$/, ""))
    .sort();

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      // A database of this file's own, already migrated to latest.
      database = await openTestDatabase();
      env = { DATABASE_URL: database.url as string };
    } else {
      dataDir = mkdtempSync(join(tmpdir(), "users-api-migrate-"));
      env = { DATA_DIR: dataDir, DATABASE_URL: "" };
      const run = await runScript("scripts/migrate.ts", [], env);
      expect(run).toMatchObject({ status: 0, stdout: "migrations applied (pglite)\n" });
    }
  }, 180_000); // a script on the embedded database takes seconds to start, more under load
  afterAll(async () => {
    await database?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const kind = () => (process.env.DATABASE_URL ? "postgres" : "pglite");

  it("lists each migration applied with its time, steps one down, and migrates back", async () => {
    const status = await runScript("scripts/migrate.ts", ["status"], env);
    expect(status.status).toBe(0);
    const lines = status.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(names.length + 1);
    names.forEach((name, at) => {
      expect(lines[at]).toMatch(new RegExp(`^${name} +applied \\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z$`));
    });
    expect(lines.at(-1)).toBe(`${names.length} applied, 0 pending`);

    const down = await runScript("scripts/migrate.ts", ["down"], env);
    expect(down).toMatchObject({ status: 0, stdout: `reverted ${names.at(-1)} (${kind()})\n` });
    const after = (await runScript("scripts/migrate.ts", ["status"], env)).stdout
      .trimEnd()
      .split("\n");
    expect(after.at(-2)).toMatch(new RegExp(`^${names.at(-1)} +pending$`));
    expect(after.at(-3)).toMatch(/ applied /);
    expect(after.at(-1)).toBe(`${names.length - 1} applied, 1 pending`);

    const latest = await runScript("scripts/migrate.ts", ["latest"], env);
    expect(latest).toMatchObject({ status: 0, stdout: `migrations applied (${kind()})\n` });
    const again = (await runScript("scripts/migrate.ts", ["status"], env)).stdout;
    expect(again.trimEnd().split("\n").at(-1)).toBe(`${names.length} applied, 0 pending`);
  });

  it("refuses an unknown command with one line, having changed nothing", async () => {
    const run = await runScript("scripts/migrate.ts", ["sideways"], env);
    expect(run).toMatchObject({
      status: 1,
      stdout: "",
      stderr: "usage: npm run db:migrate [-- latest | status | down]\n",
    });
  });

  it.skipIf(Boolean(process.env.DATABASE_URL))(
    "status and down refuse with one line while another process holds the embedded database",
    async () => {
      const lock = lockDataDir(dataDir as string);
      try {
        for (const command of ["status", "down"]) {
          const run = await runScript("scripts/migrate.ts", [command], env);
          expect(run.status).toBe(1);
          expect(run.stdout).toBe("");
          expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
          expect(run.stderr).toContain(String(process.pid));
        }
      } finally {
        lock.release();
      }
      const status = await runScript("scripts/migrate.ts", ["status"], env);
      expect(status.stdout.trimEnd().split("\n").at(-1)).toBe(`${names.length} applied, 0 pending`);
    },
  );
});

describe("npm run db:new-migration", { timeout: 120_000 }, () => {
  // A copy of the migrations folder, with the repository's node_modules and biome settings beside
  // it, so the generated files can be loaded and linted without touching the repository.
  let root: string;
  let dir: string;
  const repositoryFiles = readdirSync(MIGRATIONS_DIR).sort();
  const repositoryIndex = readFileSync(join(MIGRATIONS_DIR, "index.ts"), "utf8");

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "users-api-new-migration-"));
    dir = join(root, "db/migrations");
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    cpSync(join(REPO_ROOT, "biome.json"), join(root, "biome.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    // The repository's own folder was never written.
    expect(readdirSync(MIGRATIONS_DIR).sort()).toEqual(repositoryFiles);
    expect(readFileSync(join(MIGRATIONS_DIR, "index.ts"), "utf8")).toBe(repositoryIndex);
  });

  const indexText = () => readFileSync(join(dir, "index.ts"), "utf8");
  const listed = (text: string) => ({
    imports: [...text.matchAll(/^import \* as \w+ from "\.\/(.+)\.ts";$/gm)].map((m) => m[1]),
    entries: [...text.matchAll(/^ {2}"(.+)": \w+,$/gm)].map((m) => m[1]),
  });

  it("writes a dated file with up and down and registers it, in order", async () => {
    const run = await runScript("scripts/new-migration.ts", ["add-user-phone", "--dir", dir], {});
    expect(run.status).toBe(0);
    const file = readdirSync(dir).find((name) => name.endsWith("-add-user-phone.ts")) as string;
    expect(file).toMatch(/^\d{4}-\d{2}-\d{2}T\d{4}-add-user-phone\.ts$/);
    expect(run.stdout).toContain(join(dir, file));
    const source = readFileSync(join(dir, file), "utf8");
    expect(source).toContain("export async function up(db: Kysely<any>): Promise<void>");
    expect(source).toContain("export async function down(db: Kysely<any>): Promise<void>");
    expect(source.match(/^import .*$/gm)).toEqual(['import type { Kysely } from "kysely";']);

    // An earlier date lands between the existing ones, in both lists.
    createMigration({ name: "2fa-codes", dir, now: new Date("2026-11-26T09:05:00Z") });
    const { imports, entries } = listed(indexText());
    const all = readdirSync(dir)
      .filter((name) => name !== "index.ts")
      .map((name) => name.replace(/\.ts$/, ""))
      .sort();
    expect(imports).toEqual(all);
    expect(entries).toEqual(all);
    expect(all).toContain("2026-11-26T0905-2fa-codes");
    for (const name of all) expect(name).toMatch(STAMP);

    // The new index loads: every listed migration has an up and a down.
    const copied = (await import(join(dir, "index.ts"))) as {
      migrationProvider: MigrationProvider;
    };
    const migrations = await copied.migrationProvider.getMigrations();
    expect(Object.keys(migrations).sort()).toEqual(all);
    for (const migration of Object.values(migrations)) {
      expect(typeof migration.up).toBe("function");
      expect(typeof migration.down).toBe("function");
    }

    // Formatted as biome wants it, imports in its order (warnings for the unused `db` are a reminder).
    const lint = await new Promise<Run>((resolve) =>
      execFile(
        join(REPO_ROOT, "node_modules/.bin/biome"),
        ["check", "--vcs-enabled=false", "db/migrations"],
        { cwd: root },
        (error, stdout, stderr) =>
          resolve({ status: error ? (error.code as number) : 0, stdout, stderr }),
      ),
    );
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });

  it("refuses a bad name with one line, writing nothing", async () => {
    const before = readdirSync(dir).sort();
    const index = indexText();
    const run = await runScript("scripts/new-migration.ts", ["Add_Phone", "--dir", dir], {});
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain('bad migration name "Add_Phone"');
    for (const name of [
      "",
      "add phone",
      "add--phone",
      "-phone",
      "phone-",
      "phöne",
      "../phone",
      "Phone",
    ]) {
      expect(() => createMigration({ name, dir, now: new Date() }), name).toThrow(
        NewMigrationError,
      );
    }
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(indexText()).toBe(index);
  });

  it("refuses an existing file with one line, leaving it and the index as they were", async () => {
    const now = new Date("2026-12-01T10:30:00Z");
    const { file } = createMigration({ name: "add-user-phone", dir, now });
    const source = readFileSync(file, "utf8");
    const index = indexText();
    expect(() => createMigration({ name: "add-user-phone", dir, now })).toThrow(
      `${file} already exists`,
    );
    expect(readFileSync(file, "utf8")).toBe(source);
    expect(indexText()).toBe(index);
    expect(
      listed(index).entries.filter((name) => name === "2026-12-01T1030-add-user-phone"),
    ).toHaveLength(1);
    expect(existsSync(file)).toBe(true);
  });
});
