// The reader choice (server/replicas/read-router.ts, asked by the procedure kit for every
// authenticated query). The replica here is a second real connection pool: to the test's own
// database under its own URL (the primary itself, in step, so usable), to another database of
// the server (not a replica), or to a port nobody listens on (down). A real streaming replica
// with real lag is test/reliability/replica.test.ts.

import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImportJob } from "../../db/imports.ts";
import { openDatabase } from "../../db/open.ts";
import { buildApp } from "../../server/app.ts";
import { ConfigError, loadConfig } from "../../server/config.ts";
import { buildDeps, type ProcessDeps } from "../../server/deps.ts";
import { LagClock } from "../../server/replicas/lag-clock.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const onPostgres = Boolean(process.env.DATABASE_URL);
const SECRET = "read-router-test-secret-of-forty-characters!";
const METRICS_TOKEN = "read-router-test-metrics-token-0123456789";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000) {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A URL of the test's server with another database or port. */
function variant(url: string, change: { database?: string; port?: number }): string {
  const next = new URL(url);
  if (change.database) next.pathname = `/${change.database}`;
  if (change.port) next.port = String(change.port);
  return next.toString();
}

describe("the lag clock", () => {
  it("measures since when the primary passed a replayed position, and assumes the worst past what it kept", () => {
    const clock = new LagClock(1000);
    clock.sample(100n, 0);
    clock.sample(200n, 100);
    clock.sample(300n, 400);
    expect(clock.lagMs(300n, 500)).toBe(0);
    expect(clock.lagMs(250n, 500)).toBe(100); // the primary passed 250 at 400
    expect(clock.lagMs(150n, 500)).toBe(400);
    expect(clock.lagMs(50n, 500)).toBe(Number.POSITIVE_INFINITY); // behind the oldest sample
    // Old samples go, but the newest of them stays: still "more than 1000 ms" behind.
    clock.sample(400n, 2000);
    expect(clock.lagMs(350n, 2000)).toBe(0);
    expect(clock.lagMs(250n, 2100)).toBe(Number.POSITIVE_INFINITY);
    expect(clock.lagMs(350n, 2100)).toBe(100);
  });

  it("folds writes within 10 ms into one sample dated at the first (lag never under-estimated)", () => {
    const clock = new LagClock(1000);
    clock.sample(100n, 0);
    clock.sample(200n, 50);
    clock.sample(300n, 55);
    expect(clock.lagMs(250n, 100)).toBe(50);
  });
});

describe("settings", () => {
  it("take replica URLs only beside DATABASE_URL, at most 16, postgres:// only", () => {
    const base = { NODE_ENV: "test" as const };
    expect(() => loadConfig({ ...base, DATABASE_REPLICA_URLS: "postgres://r:5432/db" })).toThrow(
      ConfigError,
    );
    const primary = { ...base, DATABASE_URL: "postgres://p:5432/db" };
    expect(
      loadConfig({ ...primary, DATABASE_REPLICA_URLS: " postgres://a/db , postgres://b/db" })
        .DATABASE_REPLICA_URLS,
    ).toEqual(["postgres://a/db", "postgres://b/db"]);
    expect(() => loadConfig({ ...primary, DATABASE_REPLICA_URLS: "mysql://a/db" })).toThrow(
      /DATABASE_REPLICA_URLS/,
    );
    const many = Array.from({ length: 17 }, (_, i) => `postgres://r${i}/db`).join(",");
    expect(() => loadConfig({ ...primary, DATABASE_REPLICA_URLS: many })).toThrow(
      /DATABASE_REPLICA_URLS/,
    );
  });
});

describe("without replicas (either database)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it("every read is the primary's and nothing is routed", async () => {
    const caller = await t.callerFor(await t.createUser());
    const before = t.deps.queryCounts();
    await caller.users.me();
    await caller.users.list({});
    expect(t.deps.reads.enabled).toBe(false);
    expect(Object.keys(t.deps.queryCounts())).toEqual(["primary"]);
    expect(t.deps.queryCounts().primary).toBeGreaterThan(before.primary ?? 0);
    expect(Object.values(t.deps.reads.routed).every((count) => count === 0)).toBe(true);
  });
});

describe.skipIf(!onPostgres)("with a replica (a second real connection) on PostgreSQL", () => {
  let a: TestApp;
  /** Service B: same database, a pool of its own, the same replica. */
  let bDeps: ProcessDeps;
  let b: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    a = await createTestApp((url = "") => ({
      JWT_SECRET: SECRET,
      METRICS: "on",
      METRICS_TOKEN,
      // Another pool under another spelling of the host: the same server and database.
      DATABASE_REPLICA_URLS: url.replace("127.0.0.1", "localhost"),
      DATABASE_REPLICA_CHECK_MS: "300",
    }));
    bDeps = await buildDeps(a.config, {
      database: await openDatabase({
        databaseUrl: a.config.DATABASE_URL,
        dataDir: "memory://",
      }),
    });
    b = await buildApp(bDeps);
    for (const deps of [a.deps, bDeps]) {
      // Heard, checked after hearing, and in step: reads may go to the replica.
      await waitUntil("the replica in use", () => deps.reads.choose(-1).replica === "replica-1");
    }
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  let edits = 0;
  const request = (app: typeof b, method: "GET" | "PATCH", url: string, token: string) => {
    edits += 1; // each edit a change (an unchanged row might write nothing)
    return app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(method === "PATCH" && { payload: { firstName: `Name ${edits}` } }),
    });
  };

  it("a new session's first reads stay on the primary, then gets and listings come from the replica (checks are not counted as reads)", async () => {
    const checks = bDeps.reads.replicas()[0]?.checks;
    const ownWrites = bDeps.reads.routed.own_write;
    const { accessToken } = await a.userWithToken(); // a login on A
    await sleep(5); // see below: a client's least turn-around
    expect((await request(b, "GET", "/api/users/me", accessToken)).statusCode).toBe(200);
    if (bDeps.reads.replicas()[0]?.checks === checks) {
      expect(bDeps.reads.routed.own_write).toBe(ownWrites + 1);
    }
    await sleep(700); // checks saw the replica past the login
    const before = a.deps.queryCounts();
    for (const path of ["/api/users/me", "/api/users?$top=5"]) {
      expect((await request(a.app, "GET", path, accessToken)).statusCode).toBe(200);
    }
    const after = a.deps.queryCounts();
    // The get is one query, the listing two (its page and its count).
    expect((after["replica-1"] ?? 0) - (before["replica-1"] ?? 0)).toBe(3);
  });

  it("after a write, the caller reads the primary on BOTH processes until the replica replayed it, in many rounds", async () => {
    const { accessToken } = await a.userWithToken();
    let strictRounds = 0;
    for (let round = 0; round < 40; round++) {
      const [writer, other, otherDeps] = round % 2 ? [a.app, b, bDeps] : [b, a.app, a.deps];
      const ownWrites = otherDeps.reads.routed.own_write;
      const checks = otherDeps.reads.replicas()[0]?.checks;
      const patched = await request(writer, "PATCH", "/api/users/me", accessToken);
      expect(patched.statusCode, patched.body).toBe(200);
      // inject() hands the request over in-process, with no network turn: 25 ms stands for the
      // least a real client takes to get the answer and ask again (PostgreSQL signals every
      // listener at the same commit, but each connection delivers on its own, and a loaded
      // machine delays it by milliseconds; over real HTTP, test/reliability/replica.test.ts asks
      // again at once).
      await sleep(25);
      const me = await request(other, "GET", "/api/users/me", accessToken);
      expect(me.json().firstName).toBe(patched.json().firstName);
      // Unless a health check saw the replica past the write meanwhile, the other process
      // learnt of the write before the caller could ask it, and read the primary.
      if (otherDeps.reads.replicas()[0]?.checks !== checks) continue;
      strictRounds += 1;
      expect(otherDeps.reads.routed, `round ${round}`).toMatchObject({ own_write: ownWrites + 1 });
    }
    expect(strictRounds).toBeGreaterThan(20);
    // Once a check saw the replica past the write, the caller is back on it.
    await sleep(700);
    const replicaReads = a.deps.reads.routed.replica;
    expect((await request(a.app, "GET", "/api/users/me", accessToken)).statusCode).toBe(200);
    expect(a.deps.reads.routed.replica).toBe(replicaReads + 1);
  });

  it("authentication never reads a replica: a revoked token is refused on the other process within a second", async () => {
    const { accessToken } = await a.userWithToken();
    for (let i = 0; i < 3; i++) {
      expect((await request(b, "GET", "/api/users/me", accessToken)).statusCode).toBe(200);
    }
    const out = await a.app.inject({
      method: "POST",
      url: "/api/auth/logout-all",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(out.statusCode).toBe(200);
    const started = performance.now();
    let status = 200;
    while (status === 200 && performance.now() - started < 1000) {
      status = (await request(b, "GET", "/api/users/me", accessToken)).statusCode;
    }
    expect(status).toBe(401);
  });

  it("shows queries per database, routing and the replica's state in /metrics", async () => {
    const res = await a.app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^db_queries\{database="primary",role="primary"\} [1-9]/m);
    expect(res.body).toMatch(/^db_queries\{database="replica-1",role="replica"\} [1-9]/m);
    expect(res.body).toMatch(/^db_reads_routed\{reason="replica"\} [1-9]/m);
    expect(res.body).toMatch(/^db_reads_routed\{reason="own_write"\} [1-9]/m);
    expect(res.body).toMatch(/^db_replica_usable\{replica="replica-1"\} 1$/m);
    expect(res.body).toMatch(/^db_replica_lag_seconds\{replica="replica-1"\} 0$/m);
    expect(res.body).toMatch(
      /^db_replica_pool_connections\{replica="replica-1",state="total"\} [1-9]/m,
    );
  });

  it("the newer views read the replica (webhook endpoints); the feed, import status, exports, factors and passkeys the primary", async () => {
    const { user, accessToken } = await a.userWithToken({ role: "AppAdmin" });
    const job = await createImportJob(a.db, { createdBy: user.id, format: "ndjson", dryRun: true });
    await sleep(700); // checks saw the replica past the login and the job
    const replicaQueries = async (path: string) => {
      const before = a.deps.queryCounts()["replica-1"] ?? 0;
      const res = await request(a.app, "GET", path, accessToken);
      expect(res.statusCode, `${path}: ${res.body}`).toBe(200);
      return (a.deps.queryCounts()["replica-1"] ?? 0) - before;
    };
    expect(await replicaQueries("/api/webhooks")).toBeGreaterThan(0);
    for (const path of [
      "/api/events?after=0",
      `/api/users/import/${job.id}`,
      "/api/users/me/factors",
      "/api/users/me/passkeys",
      "/api/users/me/export",
      "/api/users/export",
    ]) {
      expect(await replicaQueries(path), path).toBe(0);
    }
  });
});

describe.skipIf(!onPostgres)("replicas that must not serve reads (PostgreSQL)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp((url = "") => ({
      DATABASE_REPLICA_URLS: [
        variant(url, { port: 1 }), // nobody listens: down
        variant(url, { database: "postgres" }), // another database of the server: not a copy
      ].join(","),
      DATABASE_REPLICA_CHECK_MS: "100",
      DB_CONNECT_TIMEOUT_MS: "500",
    }));
  });
  afterAll(async () => t?.close());

  it("are skipped at their checks, and every read goes to the primary with the same answers", async () => {
    await waitUntil("both replicas checked and skipped", () => {
      const [down, other] = t.deps.reads.replicas();
      return Boolean(down?.skipped.down && other?.skipped.not_a_replica);
    });
    expect(t.deps.reads.replicas().map((replica) => replica.usable)).toEqual([false, false]);
    await waitUntil(
      "the channel heard",
      () => t.deps.reads.choose(-1) && t.deps.reads.routed.replicas_skipped > 0,
    );
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    const skippedReads = t.deps.reads.routed.replicas_skipped;
    expect((await caller.users.me()).id).toBe(user.id);
    const listed = await caller.users.list({ $top: 1000 });
    expect(listed.value.map((row) => row.id)).toContain(user.id);
    expect(t.deps.reads.routed.replicas_skipped).toBe(skippedReads + 2);
    expect(t.deps.queryCounts()).toMatchObject({ "replica-1": 0, "replica-2": 0 });
  });
});

describe.skipIf(!onPostgres)("a deaf caller-wrote channel (PostgreSQL)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp((url = "") => ({
      DATABASE_REPLICA_URLS: url,
      // LISTEN on another database of the server: accepted, never delivers (as through PgBouncer).
      DATABASE_LISTEN_URL: variant(url, { database: "postgres" }),
      DATABASE_REPLICA_CHECK_MS: "100",
    }));
  });
  afterAll(async () => t?.close());

  it("keeps every read on the primary (a write elsewhere could not be heard of)", async () => {
    const caller = await t.callerFor(await t.createUser());
    await waitUntil(
      "the replica checked and in step",
      () => t.deps.reads.replicas()[0]?.usable === true,
    );
    await sleep(2000); // past the first echo's deadline
    await caller.users.me();
    await caller.users.list({});
    expect(t.deps.reads.routed.replica).toBe(0);
    expect(t.deps.reads.routed.channel_deaf).toBeGreaterThanOrEqual(2);
    expect(t.deps.queryCounts()["replica-1"]).toBe(0);
  });
});

describe.skipIf(!onPostgres)("a replica whose read fails (PostgreSQL)", () => {
  let t: TestApp;
  // A login that passes the health check (its functions are public) but may read no table: each
  // read on it fails on the server's side, as a stopped replica or a recovery conflict would.
  const role = `users_api_noread_${randomBytes(4).toString("hex")}`;
  const server = process.env.DATABASE_URL as string;

  beforeAll(async () => {
    await adminQuery(server, `create role ${role} login`);
    t = await createTestApp((url = "") => {
      const replica = new URL(url);
      replica.username = role;
      return { DATABASE_REPLICA_URLS: replica.toString(), DATABASE_REPLICA_CHECK_MS: "100" };
    });
  });
  afterAll(async () => {
    await t?.close();
    await adminQuery(server, `drop role if exists ${role}`);
  });

  it("is answered again by the primary, with the same answer, and the replica is skipped at once", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    await waitUntil("the replica in use", () => t.deps.reads.choose(-1).replica === "replica-1");
    await sleep(400); // the login's position replayed (checked)
    const failed = t.deps.reads.routed.replica_failed;
    expect((await caller.users.me()).id).toBe(user.id);
    expect(t.deps.reads.routed.replica_failed).toBe(failed + 1);
    expect(t.deps.reads.replicas()[0]?.usable).toBe(false);
    const listed = await caller.users.list({ $top: 1000 });
    expect(listed.value.map((row) => row.id)).toContain(user.id);
  });
});
