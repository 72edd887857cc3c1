// The embedded database (PGlite) is one process's: a running service locks its DATA_DIR, and every
// script (db:seed, db:migrate, db:reset, admin:create) and a second service refuse with one line
// naming the running process, having changed nothing. Once the service stops they run; a lock
// left by a process that was killed is taken over.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runNode } from "../helpers/spawn.ts";
import {
  ADMIN_EMAIL,
  api,
  killAllServers,
  login,
  PASSWORD,
  runScript,
  type ServerProcess,
  signupAndLogin,
  startServer,
  uniqueEmail,
} from "./helpers.ts";

/** The seed's accounts and password (scripts/db-seed.ts). */
const SEEDED = { email: "alice@example.com", password: "demo-lantern-orchard-4821" };
const SCRIPTS: Array<[string, string[]]> = [
  ["scripts/db-seed.ts", []],
  ["scripts/migrate.ts", []],
  ["scripts/db-reset.ts", ["--yes"]],
  ["scripts/create-admin.ts", ["second-admin@example.com"]],
];

/**
 * A process that, at `startAt` (epoch ms), locks `dir`, prints "locked" and holds the lock
 * for `holdMs`; or prints the refusal and exits 1.
 */
function racer(dir: string, startAt: number, holdMs: number) {
  const code = `
    import { lockDataDir } from "./db/data-dir-lock.ts";
    await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
    try {
      const lock = lockDataDir(${JSON.stringify(dir)});
      console.log("locked");
      setTimeout(() => lock.release(), ${holdMs});
    } catch (error) {
      console.error(error.message);
      process.exitCode = 1;
    }`;
  return runNode(["--input-type=module", "-e", code], { cwd: ROOT });
}

/** A pid no process has: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid as number;
}

describe("one process on the embedded database", { timeout: 240_000 }, () => {
  let dataDir: string;
  let server: ServerProcess;
  const env = () => ({ DATA_DIR: dataDir, ADMIN_EMAIL, ADMIN_PASSWORD: PASSWORD });
  const lockFile = () => join(dataDir, "pglite.lock");

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "users-api-lock-"));
    server = await startServer(env(), { readyTimeoutMs: 180_000 });
  });

  afterAll(async () => {
    await killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("every script and a second service refuse with one line naming the running process; nothing changes", async () => {
    const before = uniqueEmail("lock-before");
    await signupAndLogin(server.url, before);

    for (const [script, args] of SCRIPTS) {
      const run = await runScript(script, args, { ...env(), ADMIN_PASSWORD: PASSWORD });
      const lines = run.stderr.trim().split("\n");
      expect(run.status, `${script}: ${run.stdout}${run.stderr}`).not.toBe(0);
      expect(lines, `${script}: ${run.stderr}`).toHaveLength(1);
      expect(lines[0]).toContain(`in use by process ${server.pid}`);
      expect(run.stdout, script).toBe("");
    }

    const second = await startServer(env(), { waitReady: false });
    const exit = await second.exited;
    expect(exit.code, second.output()).toBe(1);
    expect(second.output().trim()).toContain(`in use by process ${server.pid}`);

    // The service still works on its data: the user from before logs in, a signup succeeds,
    // and nothing of the seed or the second admin exists.
    await login(server.url, before);
    await signupAndLogin(server.url, uniqueEmail("lock-after"));
    for (const email of [SEEDED.email, "second-admin@example.com"]) {
      const res = await api(server.url, "POST", "/api/auth/token", {
        body: { email, password: email === SEEDED.email ? SEEDED.password : PASSWORD },
      });
      expect(res.status, `${email}: ${res.text}`).toBe(401);
    }
  });

  it("once the service has stopped, the scripts run and the service starts on the same data", async () => {
    const user = uniqueEmail("lock-kept");
    await signupAndLogin(server.url, user);
    await server.stop();
    expect(existsSync(lockFile()), "the lock is removed at a clean stop").toBe(false);

    const seed = await runScript("scripts/db-seed.ts", [], env());
    expect(seed.status, seed.stderr).toBe(0);
    const migrate = await runScript("scripts/migrate.ts", [], env());
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(existsSync(lockFile()), "scripts release the lock").toBe(false);

    server = await startServer(env(), { readyTimeoutMs: 180_000 });
    await login(server.url, user);
    await login(server.url, SEEDED.email, SEEDED.password);
  });

  it("a lock left by a killed process is taken over, by a script and by the service", async () => {
    server.signal("SIGKILL");
    await server.exited;
    const left = JSON.parse(readFileSync(lockFile(), "utf8")) as { pid: number };
    expect(left.pid).toBe(server.pid);

    const migrate = await runScript("scripts/migrate.ts", [], env());
    expect(migrate.status, migrate.stderr).toBe(0);

    // A lock naming a pid no process has, as a crash leaves it.
    writeFileSync(lockFile(), JSON.stringify({ pid: await deadPid(), command: "dist/main.js" }));
    server = await startServer(env(), { readyTimeoutMs: 180_000 });
    expect(JSON.parse(readFileSync(lockFile(), "utf8"))).toMatchObject({ pid: server.pid });
    await login(server.url, SEEDED.email, SEEDED.password);
  });

  it("processes racing for one stale lock: exactly one takes it over, in every round", async () => {
    const dir = mkdtempSync(join(tmpdir(), "users-api-lock-race-"));
    try {
      for (let round = 0; round < 5; round++) {
        writeFileSync(join(dir, "pglite.lock"), JSON.stringify({ pid: await deadPid() }));
        // They start together once all are loaded, and the winner holds on until all have tried.
        const startAt = Date.now() + 6000;
        const runs = await Promise.all([0, 1, 2].map(() => racer(dir, startAt, 5000)));
        const winners = runs.filter((run) => run.stdout.includes("locked"));
        expect(winners, JSON.stringify(runs)).toHaveLength(1);
        for (const run of runs.filter((r) => !winners.includes(r))) {
          expect(run.status).toBe(1);
          expect(run.stderr).toMatch(/in use by process \d+/);
        }
        expect(existsSync(join(dir, "pglite.lock")), "released by the winner").toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync("/proc/self/stat"))(
    "a lock naming a live process that started after it was written (pid reused) is taken over",
    async () => {
      await server.stop();
      // This test's own process is alive, but its start time is not the one in the lock.
      writeFileSync(
        lockFile(),
        JSON.stringify({ pid: process.pid, startTime: "1", command: "dist/main.js" }),
      );
      const migrate = await runScript("scripts/migrate.ts", [], env());
      expect(migrate.status, migrate.stderr).toBe(0);
    },
  );
});
