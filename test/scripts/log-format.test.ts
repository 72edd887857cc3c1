// Logs are readable lines for a person at a terminal and JSON lines for whatever reads a pipe
// (LOG_FORMAT=auto); an explicit LOG_FORMAT wins. Redaction holds in both.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { SETTING_NAMES } from "../../server/config.ts";
import { chooseLogFormat, loggerOptions } from "../../server/log-format.ts";
import { cleanEnv, ROOT, spawnNode } from "../helpers/spawn.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("choosing the format", () => {
  it("auto: pretty on a terminal, JSON otherwise; an explicit setting wins", () => {
    expect(chooseLogFormat("auto", true)).toBe("pretty");
    expect(chooseLogFormat("auto", false)).toBe("json");
    expect(chooseLogFormat("json", true)).toBe("json");
    expect(chooseLogFormat("pretty", false)).toBe("pretty");
  });
});

describe("the pretty lines", () => {
  it("are readable (level, clock time, message) and redacted", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => {
      text += chunk;
    });
    const logger = await loggerOptions({ LOG_LEVEL: "info", LOG_FORMAT: "pretty" }, false, out);
    const app = Fastify({ logger });
    app.log.info(
      { body: { password: "hunter2-secret-passphrase" }, req: { headers: { authorization: "x" } } },
      "signed in",
    );
    await app.close();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] .*INFO.*signed in/);
    expect(text).not.toContain("hunter2-secret-passphrase");
    expect(text).toContain("[Redacted]");
    expect(() => JSON.parse(text)).toThrow();
  });
});

/** The first line the service prints on stdout when stdout is a pipe, and the process. */
function firstLine(env: NodeJS.ProcessEnv): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "users-log-format-"));
  dirs.push(dataDir);
  const child = spawnNode(["server/main.ts"], {
    cwd: ROOT,
    env: { ...cleanEnv(SETTING_NAMES), PORT: "0", DATA_DIR: dataDir, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      const end = stdout.indexOf("\n");
      if (end === -1) return;
      child.kill("SIGTERM");
      resolve(stdout.slice(0, end));
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before a line:\n${stderr}`)));
  });
}

describe("the service's stdout on a pipe", { timeout: 120_000 }, () => {
  it("is JSON lines by default, readable lines with LOG_FORMAT=pretty", async () => {
    const [json, pretty] = await Promise.all([firstLine({}), firstLine({ LOG_FORMAT: "pretty" })]);
    expect(JSON.parse(json)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\] /);
    expect(() => JSON.parse(pretty)).toThrow();
  });
});
