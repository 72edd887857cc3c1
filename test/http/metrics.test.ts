// GET /metrics (Prometheus): off by default, and when on, never open on the API's port without
// the bearer token from settings; what it shows comes from the traffic the service answered.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImportJob, failImportJob } from "../../db/imports.ts";
import { freePort } from "../../scripts/bench/processes.ts";
import { loadConfig } from "../../server/config.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

const TOKEN = "metrics-token-for-the-test-suite-0123456789";

describe("metrics off (the default)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it("has no /metrics route", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(404);
  });
});

describe("METRICS=on", () => {
  it("needs a token or a port of its own", () => {
    expect(() => loadConfig({ METRICS: "on" })).toThrow(
      /METRICS: on needs METRICS_TOKEN or METRICS_PORT/,
    );
    expect(() => loadConfig({ METRICS: "on", METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);
  });
});

describe("metrics on, with a token", () => {
  let t: TestApp;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    t = await createTestApp({
      METRICS: "on",
      METRICS_TOKEN: TOKEN,
      METRICS_PORT: String(metricsPort),
      RATE_LIMIT: "on",
      LOGIN_LIMIT_PER_IP: "3",
    });
  });
  afterAll(() => t?.close());

  const scrape = (authorization?: string) =>
    t.app.inject({
      method: "GET",
      url: "/metrics",
      headers: authorization ? { authorization } : {},
    });

  it("refuses a scrape without the token, or with another", async () => {
    expect((await scrape()).statusCode).toBe(401);
    expect((await scrape(`Bearer ${TOKEN}x`)).statusCode).toBe(401);
    expect((await scrape(`Basic ${TOKEN}`)).statusCode).toBe(401);
  });

  it("shows requests by door, route and status, logins by outcome, refusals, queues and memory", async () => {
    const user = await t.createUser();
    const login = (password: string) =>
      t.app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: user.email, password },
      });
    const ok = await login(PASSWORD);
    expect(ok.statusCode).toBe(200);
    const { accessToken } = ok.json() as { accessToken: string };
    expect((await login("wrong-password-for-metrics")).statusCode).toBe(401);
    const me = { authorization: `Bearer ${accessToken}` };
    expect(
      (await t.app.inject({ method: "GET", url: "/api/users/me", headers: me })).statusCode,
    ).toBe(200);
    const trpc = await t.app.inject({ method: "GET", url: "/trpc/users.me", headers: me });
    expect(trpc.statusCode).toBe(200);
    await t.app.inject({ method: "GET", url: "/trpc/users.nothing-of-ours" });
    // The third login of this address is its last within the limit: the fourth is refused.
    await login(PASSWORD);
    expect((await login(PASSWORD)).statusCode).toBe(429);

    // An upload being received: counted until it is failed below.
    const receiving = await createImportJob(t.db, {
      createdBy: (await t.createUser({ role: "AppAdmin" })).id,
      format: "ndjson",
      dryRun: false,
    });
    const res = await scrape(`Bearer ${TOKEN}`);
    await failImportJob(t.db, receiving.id, "test over");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    const text = res.body;
    const value = (series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(
      value(
        'http_request_duration_seconds_count{door="rest",route="/api/users/me",method="GET",status="200"}',
      ),
    ).toBe(1);
    expect(
      value(
        'http_request_duration_seconds_count{door="trpc",route="/trpc/users.me",method="GET",status="200"}',
      ),
    ).toBe(1);
    // A name that is no procedure is not a label of its own (labels stay bounded).
    expect(text).not.toContain("nothing-of-ours");
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",door="rest",route="\/api\/auth\/token"/,
    );
    expect(value('logins_total{outcome="success"}')).toBe(2);
    expect(value('logins_total{outcome="refused"}')).toBe(1);
    expect(value('logins_total{outcome="rate_limited"}')).toBe(1);
    expect(value('rate_limit_refusals_total{door="rest",route="/api/auth/token"}')).toBe(1);
    expect(value('password_hashing_tasks{state="queued"}')).toBe(0);
    expect(value('images_tasks{state="active"}')).toBe(0);
    expect(value("mail_outbox_queued")).toBeGreaterThanOrEqual(0);
    expect(value("mail_outbox_oldest_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(value("webhook_deliveries_pending")).toBe(0);
    expect(value('import_jobs{state="receiving"}')).toBe(1);
    expect(value('import_jobs{state="queued"}')).toBe(0);
    expect(value('import_jobs{state="running"}')).toBe(0);
    expect(value("webhook_deliveries_oldest_age_seconds")).toBe(0);
    expect(value('auth_state_reads{result="miss"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain("process_cpu_seconds_total");
    if (process.env.DATABASE_URL) {
      expect(value('db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    }
  });

  it("serves the same on METRICS_PORT once the API listens, with the token too", async () => {
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("http_request_duration_seconds_bucket");
    expect((await fetch(`http://127.0.0.1:${metricsPort}/api/users`)).status).toBe(404);
  });
});
