import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../helpers/expect-error.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let root: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp();
  root = await t.userWithToken({ role: "AppAdmin" });
  // More than one page (1000) of users, a few of them matching the filter below.
  await t.db
    .insertInto("users")
    .values(
      Array.from({ length: 2100 }, (_, i) => ({
        email: `export-${i}@example.com`,
        username: `export-${i}`,
        first_name: i % 700 === 0 ? "Findme" : "Plain",
        last_name: String(i),
        status: "active" as const,
        password_hash: `$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$hash${i}`,
      })),
    )
    .execute();
});
afterAll(() => t.close());

const lines = (body: string) =>
  body
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

const exportActions = () =>
  t.db
    .selectFrom("audit_log")
    .select(["actor_id", "changes"])
    .where("action", "=", "user.export")
    .orderBy("id")
    .execute();

describe("GET /api/users/export", () => {
  it("streams every user as NDJSON in id order, without hashes unless asked", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/users/export", headers: root.auth });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    const users = lines(res.body);
    expect(users).toHaveLength(2101);
    expect(users.map((u) => u.id)).toEqual([...users.map((u) => u.id)].sort((a, b) => a - b));
    expect(res.body).not.toMatch(/passwordHash|argon2/);
    expect(await exportActions()).toEqual([
      { actor_id: root.user.id, changes: { withPasswordHashes: false } },
    ]);
  });

  it("filters with the listing language, and adds hashes behind the flag (audited)", async () => {
    const filter = encodeURIComponent("firstName eq 'Findme'");
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/export?$filter=${filter}&includePasswordHashes=true`,
      headers: root.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const users = lines(res.body);
    expect(users.map((u) => u.username)).toEqual(["export-0", "export-700", "export-1400"]);
    expect(users[1].passwordHash).toBe(
      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$hash700",
    );
    expect((await exportActions()).at(-1)).toEqual({
      actor_id: root.user.id,
      changes: { filter: "firstName eq 'Findme'", withPasswordHashes: true },
    });
  });

  it("refuses a bad filter (400), Admins (403) and anonymous callers (401)", async () => {
    const bad = await t.app.inject({
      method: "GET",
      url: "/api/users/export?$filter=nope%20eq",
      headers: root.auth,
    });
    expectError(bad, 400, "INVALID_FILTER");
    const flag = await t.app.inject({
      method: "GET",
      url: "/api/users/export?includePasswordHashes=yes",
      headers: root.auth,
    });
    expectError(flag, 400, "VALIDATION_ERROR");
    const admin = await t.userWithToken({ role: "Admin" });
    expectError(
      await t.app.inject({ method: "GET", url: "/api/users/export", headers: admin.auth }),
      403,
      "UNAUTHORIZED",
    );
    expectError(
      await t.app.inject({ method: "GET", url: "/api/users/export" }),
      401,
      "UNAUTHENTICATED",
    );
  });

  it("pages through tRPC with next", async () => {
    const caller = await t.callerFor(root.user);
    const seen: number[] = [];
    let page = await caller.users.exportUsers({});
    seen.push(...page.value.map((u) => u.id));
    while (page.next) {
      page = await caller.users.exportUsers(page.next);
      seen.push(...page.value.map((u) => u.id));
    }
    expect(new Set(seen).size).toBeGreaterThanOrEqual(2101);
    expect(page.value.every((u) => u.passwordHash === undefined)).toBe(true);
  });
});
