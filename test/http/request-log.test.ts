// One log line per request (server/http/hygiene.ts): written at `info` and below, with the route
// and status; skipped before it is built when the level drops it (`warn`, as the bench runs).
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../server/app.ts";
import { buildDeps } from "../../server/deps.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function requestLines(level: "info" | "warn"): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      callback();
    },
  });
  const config = { ...t.config, LOG_LEVEL: level };
  const app = await buildApp(await buildDeps(config, { db: t.db, logger: { level, stream } }));
  try {
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/api/users/1" })).statusCode).toBe(401);
  } finally {
    await app.close();
  }
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === "request");
}

describe("the per-request log line", () => {
  it("is written at info, with method, route and status", async () => {
    const lines = await requestLines("info");
    expect(lines).toEqual([
      expect.objectContaining({ method: "GET", route: "/healthz", status: 200 }),
      expect.objectContaining({ method: "GET", route: "/api/users/:id", status: 401 }),
    ]);
  });

  it("is not written at warn", async () => {
    expect(await requestLines("warn")).toEqual([]);
  });
});
