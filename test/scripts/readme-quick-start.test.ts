// The README's first steps, run as written, as a newcomer would on a fresh clone: start the
// service with an administrator (`npm start`, so the build too), then the shell block that logs
// in, keeps the access token and asks who am I. Only the port differs (3000 may be taken here).

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/bench/processes.ts";
import { SETTING_NAMES } from "../../server/config.ts";
import { cleanEnv, ROOT } from "../helpers/spawn.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const shellBlocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => block ?? "");

/** The one shell block of the README holding every one of `parts`. */
function blockWith(...parts: string[]): string {
  const found = shellBlocks.filter((block) => parts.every((part) => block.includes(part)));
  expect(found, `README shell blocks with ${parts.join(" and ")}`).toHaveLength(1);
  return found[0] as string;
}

/** What a clone has: the tracked files (and new ones not ignored), with node_modules linked. */
function cloneOfTheRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), "users-readme-"));
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  )
    .split("\0")
    .filter((file) => file && existsSync(join(ROOT, file)));
  for (const file of files) cpSync(join(ROOT, file), join(dir, file));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

const clone = cloneOfTheRepository();
let service: ChildProcess | undefined;
let serviceOutput = "";
let port = 0;

beforeAll(async () => {
  port = await freePort();
  // Its own process group, so stopping it reaches npm and the node process npm started.
  service = spawn("bash", ["-c", blockWith("ADMIN_PASSWORD=", "npm start")], {
    cwd: clone,
    env: { ...cleanEnv(SETTING_NAMES), PORT: String(port) },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  service.stdout?.on("data", (chunk: Buffer) => {
    serviceOutput += chunk;
  });
  service.stderr?.on("data", (chunk: Buffer) => {
    serviceOutput += chunk;
  });
  const deadline = Date.now() + 150_000;
  while (Date.now() < deadline && service.exitCode === null) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`npm start did not get ready:\n${serviceOutput}`);
}, 180_000);

afterAll(async () => {
  const pid = service?.pid;
  if (pid !== undefined && service?.exitCode === null) {
    const exited = new Promise((resolve) => service?.once("exit", resolve));
    process.kill(-pid, "SIGTERM");
    const killer = setTimeout(() => process.kill(-pid, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  }
  rmSync(clone, { recursive: true, force: true });
}, 30_000);

describe("the README's quick start, as written", () => {
  it("starts with an administrator and logs what the README says", () => {
    expect(serviceOutput).toContain("first AppAdmin created");
    expect(serviceOutput).toContain("Server listening at");
    expect(serviceOutput).toContain(
      `Users API at http://localhost:${port}/api/users, docs at http://localhost:${port}/docs`,
    );
  });

  it("logs in, keeps the access token in $ACCESS_TOKEN and reads `me`", () => {
    const commands = blockWith("ACCESS_TOKEN=", "/api/users/me").replaceAll(
      "localhost:3000",
      `localhost:${port}`,
    );
    const run = spawnSync("bash", ["-c", commands], {
      cwd: clone,
      env: cleanEnv(SETTING_NAMES),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      email: "admin@example.com",
      role: "AppAdmin",
      status: "active",
    });
  });
});
