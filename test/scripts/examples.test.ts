import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

// The typed client examples in scripts/examples, run as a user would run them, against a
// listening server.

const run = promisify(execFile);

let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  if (!address || typeof address === "string") throw new Error("not listening");
  baseUrl = `http://127.0.0.1:${address.port}`;
});
afterAll(() => t.close());

async function example(file: string, apiUrl: string) {
  try {
    const { stdout } = await run("npx", ["tsx", `scripts/examples/${file}`], {
      env: { ...process.env, API_URL: apiUrl },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

it.each(["trpc-client.ts", "openapi-client.ts"])(
  "%s signs up, logs in, reads me and lists users",
  async (file) => {
    const result = await example(file, baseUrl);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/signed up .+ as user \d+ \(status pending\)/);
    expect(result.stdout).toMatch(/me: \S+ <.+>, role User/);
    expect(result.stdout).toMatch(/list: \d+ visible/);
    expect(result.stdout).toContain("without a token: UNAUTHENTICATED (401)");
  },
  60_000,
);

it.each(["trpc-client.ts", "openapi-client.ts"])(
  "%s exits non-zero when the server cannot be reached",
  async (file) => {
    // Port 9 (discard) on loopback: nothing listens there.
    const result = await example(file, "http://127.0.0.1:9");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/example failed/);
  },
  60_000,
);
