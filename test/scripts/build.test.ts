import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/bench/processes.ts";
import { buildService } from "../../scripts/build.ts";
import { SETTING_NAMES } from "../../server/config.ts";
import { cleanEnv, ROOT } from "../helpers/spawn.ts";

// `npm start` runs the build in dist/, not the TypeScript: what the bundle must still find at
// run time (the worker file, the pages, the migrations) is checked here on a real process.

// Inside the project, like dist/, so the bundle's package imports resolve from node_modules.
const OUT = join(ROOT, "node_modules", ".cache", `build-test-${process.pid}`);
const DATA_DIR = mkdtempSync(join(tmpdir(), "users-build-test-"));

let server: ChildProcess | undefined;
let baseUrl = "";
let output = "";

async function waitReady(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && server?.exitCode === null) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the built service did not get ready:\n${output}`);
}

beforeAll(async () => {
  await buildService(OUT);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [join(OUT, "main.js")], {
    // Production reads `.env` from its working directory: an empty folder of the test's own, and
    // no setting from the test run's environment, so a developer's settings (DATABASE_URL among
    // them: the embedded database has nothing outside the test to depend on) never leak in.
    cwd: DATA_DIR,
    env: {
      ...cleanEnv(SETTING_NAMES),
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      RATE_LIMIT: "off",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR,
      JWT_SECRET: "build-test-jwt-secret-0123456789abcdef",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  server.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  // A fresh embedded database is created on first start: seconds alone, more on a busy machine.
  await waitReady(60_000);
}, 90_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(OUT, { recursive: true, force: true });
  rmSync(DATA_DIR, { recursive: true, force: true });
});

describe("the production build (npm start)", () => {
  it("starts, migrates the database and answers /healthz", async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("serves the landing pages and their assets from dist/pages", async () => {
    const page = await fetch(`${baseUrl}/reset-password`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Choose a new password");
    expect((await fetch(`${baseUrl}/pages/pages.css`)).status).toBe(200);
  });

  it("serves the admin console it built into dist/console", async () => {
    const page = await fetch(`${baseUrl}/admin`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /\/admin\/assets\/main-[A-Z0-9]+\.js/.exec(html)?.[0];
    expect(script).toBeDefined();
    const asset = await fetch(`${baseUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });

  it("checks passwords in the built worker thread", async () => {
    const signup = (password: string) =>
      fetch(`${baseUrl}/api/users/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `build-${password.length}@example.com`,
          password,
          firstName: "Ada",
          lastName: "Lovelace",
        }),
      });
    const weak = await signup("passwordpassword1");
    expect(weak.status).toBe(400);
    expect(await weak.json()).toMatchObject({ code: "WEAK_PASSWORD" });
    const strong = await signup("violet-harbor-quantum-7-lantern");
    expect(strong.status).toBe(201);
    expect(await strong.json()).toMatchObject({ status: "pending" });
  });
});
