// On PostgreSQL the service keeps callers' auth state in memory (server/auth/auth-state-cache.ts).
// These tests show that it is in effect, and that what another process or a console changes
// still refuses a token within a second, while this process's own changes refuse it at once.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/open.ts";
import { buildApp } from "../../server/app.ts";
import { buildDeps } from "../../server/deps.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const onPostgres = Boolean(process.env.DATABASE_URL);

describe.skipIf(!onPostgres)("auth state kept in memory on PostgreSQL", () => {
  let t: TestApp;
  /** Another connection, as another process or an operator's console would have. */
  let other: pg.Client;

  beforeAll(async () => {
    t = await createTestApp();
    other = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await other.connect();
    await listening();
  });
  afterAll(async () => {
    await other?.end();
    await t?.close();
  });

  const me = (accessToken: string) =>
    t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${accessToken}` },
    });

  /** Waits until the service's LISTEN connection hears its own echo (caching starts then). */
  async function listening() {
    for (let i = 0; i < 100; i++) {
      if (t.deps.authStates.trusted()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("the auth-state LISTEN connection never heard its echo");
  }

  /** Changes the database without firing triggers: nobody is told. */
  async function silently(statement: string, params: unknown[]) {
    await other.query("begin");
    await other.query("set local session_replication_role = replica");
    await other.query(statement, params);
    await other.query("commit");
  }

  async function refusedWithin(accessToken: string): Promise<number> {
    const started = performance.now();
    for (;;) {
      const res = await me(accessToken);
      const elapsed = performance.now() - started;
      if (res.statusCode === 401) return elapsed;
      expect(elapsed, "ms until the token was refused").toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it("serves a known caller from memory (a change nobody announces goes unseen)", async () => {
    const { user, accessToken } = await t.userWithToken();
    expect((await me(accessToken)).statusCode).toBe(200);
    await silently("update users set status = 'suspended' where id = $1", [user.id]);
    // Only the trigger's NOTIFY (off here) or the TTL would drop the entry.
    expect((await me(accessToken)).statusCode).toBe(200);
    // Announced now, as the trigger does for every real change.
    await other.query("select pg_notify('auth_state', $1)", [String(user.id)]);
    expect(await refusedWithin(accessToken)).toBeLessThan(1000);
  });

  it("a suspension made by another connection refuses the token within a second", async () => {
    const { user, accessToken } = await t.userWithToken();
    expect((await me(accessToken)).statusCode).toBe(200);
    await other.query("update users set status = 'suspended' where id = $1", [user.id]);
    expect(await refusedWithin(accessToken)).toBeLessThan(1000);
  });

  it("a session ended or a token version bumped by another connection is seen within a second", async () => {
    const first = await t.userWithToken();
    expect((await me(first.accessToken)).statusCode).toBe(200);
    await other.query("update sessions set revoked_at = now() where user_id = $1", [first.user.id]);
    expect(await refusedWithin(first.accessToken)).toBeLessThan(1000);

    const second = await t.userWithToken();
    expect((await me(second.accessToken)).statusCode).toBe(200);
    await other.query("update users set token_version = token_version + 1 where id = $1", [
      second.user.id,
    ]);
    expect(await refusedWithin(second.accessToken)).toBeLessThan(1000);
  });

  it("this process's own change refuses the token on the very next request", async () => {
    const { accessToken } = await t.userWithToken();
    expect((await me(accessToken)).statusCode).toBe(200);
    const out = await t.app.inject({
      method: "POST",
      url: "/api/auth/logout-all",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(out.statusCode).toBe(200);
    expect((await me(accessToken)).statusCode).toBe(401);
  });

  it("forgets everything when its LISTEN connection drops, and caches again once back", async () => {
    const { user, accessToken } = await t.userWithToken();
    expect((await me(accessToken)).statusCode).toBe(200);
    await other.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'LISTEN auth_state'",
    );
    await silently("update users set status = 'suspended' where id = $1", [user.id]);
    // Notifications may have been missed: the state is read from the database again.
    expect(await refusedWithin(accessToken)).toBeLessThan(1000);

    await silently("update users set status = 'active' where id = $1", [user.id]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the listener reconnects after 1 s
    await listening();
    expect((await me(accessToken)).statusCode).toBe(200);
  });
});

describe.skipIf(!onPostgres)("a LISTEN connection that does not hear (deaf channel)", () => {
  let a: TestApp;
  let b: Awaited<ReturnType<typeof buildApp>>;
  let bDeps: Awaited<ReturnType<typeof buildDeps>>;
  const warnings: string[] = [];

  beforeAll(async () => {
    // One signing secret, so a token from A is good on B, as behind a load balancer.
    a = await createTestApp({ JWT_SECRET: "deaf-channel-test-secret-of-forty-characters" });
    // Service B on the same database through a pool of its own (so it learns of A's changes only
    // from the database), its LISTEN sent to another database of the same server: the LISTEN
    // succeeds and nothing ever arrives, as through a transaction-mode pooler.
    bDeps = await buildDeps(
      { ...a.config, DATABASE_LISTEN_URL: process.env.DATABASE_URL },
      {
        database: await openDatabase({ databaseUrl: a.config.DATABASE_URL, dataDir: "memory://" }),
        logger: {
          level: "warn",
          stream: { write: (line: string) => warnings.push(JSON.parse(line).msg) },
        },
      },
    );
    b = await buildApp(bDeps);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const meOn = (app: typeof b, accessToken: string) =>
    app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${accessToken}` },
    });
  const deafWarnings = () => warnings.filter((msg) => msg.includes("DATABASE_LISTEN_URL"));

  it("is noticed within two seconds, logged once with the fix, and memory stops trusting itself", async () => {
    const started = performance.now();
    while (deafWarnings().length === 0) {
      expect(performance.now() - started, "ms until the deaf channel is reported").toBeLessThan(
        2500,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(bDeps.authStates.trusted()).toBe(false);
    // The check goes on (it is how the channel is heard again), the warning is not repeated.
    await new Promise((resolve) => setTimeout(resolve, 3200));
    expect(deafWarnings()).toHaveLength(1);
    expect(bDeps.authStates.trusted()).toBe(false);
  });

  it("a logout-all on service A is honoured by service B on its next request", async () => {
    const { accessToken } = await a.userWithToken();
    expect((await meOn(b, accessToken)).statusCode).toBe(200);
    expect((await meOn(b, accessToken)).statusCode).toBe(200);
    const out = await a.app.inject({
      method: "POST",
      url: "/api/auth/logout-all",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(out.statusCode).toBe(200);
    expect((await meOn(b, accessToken)).statusCode).toBe(401);
  });
});
