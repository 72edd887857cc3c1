// Settings come from the environment and, beneath it, from a `.env` file in the working
// directory; `.env.example` lists every setting with its default.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseEnv } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, SETTING_NAMES } from "../../server/config.ts";
import { cleanEnv, ROOT, runNode } from "../helpers/spawn.ts";

const CONFIG = pathToFileURL(join(ROOT, "server/config.ts")).href;
const dir = mkdtempSync(join(tmpdir(), "users-env-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a process started in `dir` reads as its settings (as the service and scripts do). */
async function settingsIn(env: NodeJS.ProcessEnv) {
  const code = `const { loadConfig } = await import(${JSON.stringify(CONFIG)});
    const c = loadConfig();
    console.log(JSON.stringify({ PORT: c.PORT, LOG_LEVEL: c.LOG_LEVEL, MAIL_FROM: c.MAIL_FROM }));`;
  const run = await runNode(["--input-type=module", "-e", code], { cwd: dir, env });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as { PORT: number; LOG_LEVEL: string; MAIL_FROM: string };
}

describe(".env", { timeout: 60_000 }, () => {
  it("is read from the working directory, and a real variable wins over it", async () => {
    writeFileSync(
      join(dir, ".env"),
      '# a comment\nPORT=4123\nLOG_LEVEL=debug\nMAIL_FROM="Team <team@example.com>"\n',
    );
    const base = cleanEnv(SETTING_NAMES);
    expect(await settingsIn(base)).toEqual({
      PORT: 4123,
      LOG_LEVEL: "debug",
      MAIL_FROM: "Team <team@example.com>",
    });
    const overridden = await settingsIn({ ...base, PORT: "4999" });
    expect(overridden.PORT).toBe(4999);
    expect(overridden.LOG_LEVEL).toBe("debug");
  });

  it("is not read under NODE_ENV=test (a developer's .env never reaches the tests)", async () => {
    writeFileSync(join(dir, ".env"), "PORT=4123\n");
    const settings = await settingsIn({ ...cleanEnv(SETTING_NAMES), NODE_ENV: "test" });
    expect(settings.PORT).toBe(3000);
  });

  it("is optional: without one the defaults apply", async () => {
    rmSync(join(dir, ".env"), { force: true });
    expect((await settingsIn(cleanEnv(SETTING_NAMES))).PORT).toBe(3000);
  });
});

describe(".env.example", () => {
  const text = readFileSync(join(ROOT, ".env.example"), "utf8");
  // Every setting is a commented-out line `# NAME=default`; uncommented, they are the file.
  const uncommented = text
    .split("\n")
    .filter((line) => /^# [A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => line.slice(2))
    .join("\n");
  const listed = parseEnv(uncommented);

  it("names every setting of the config schema, and nothing else", () => {
    expect(Object.keys(listed).sort()).toEqual([...SETTING_NAMES].sort());
  });

  it("gives each setting its default: uncommenting everything changes nothing", () => {
    expect(loadConfig(listed)).toEqual(loadConfig({}));
  });
});

describe("DATABASE_LISTEN_URL", () => {
  it("needs DATABASE_URL: there is no LISTEN on the embedded database", () => {
    expect(() => loadConfig({ DATABASE_LISTEN_URL: "postgres://db.internal/users" })).toThrow(
      "Invalid setting DATABASE_LISTEN_URL: needs DATABASE_URL",
    );
    const both = loadConfig({
      DATABASE_URL: "postgres://pooler.internal:6432/users",
      DATABASE_LISTEN_URL: "postgres://db.internal/users",
    });
    expect(both.DATABASE_LISTEN_URL).toBe("postgres://db.internal/users");
  });
});
