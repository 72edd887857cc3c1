import { createHmac } from "node:crypto";
import { type Kysely, type SqlBool, sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database, NewUser } from "../../db/database.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../db/open.ts";
import { PUBLIC_USER_COLUMNS } from "../../db/users.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { decodeCursor, encodeCursor } from "../../server/listing/cursor.ts";
import { type ListUsersOptions, listUsers } from "../../server/listing/list-users.ts";
import { parseOrderBy } from "../../server/listing/order-select.ts";

let handle: DatabaseHandle;
let db: Kysely<Database>;
const KEY = "test-cursor-key";
const base: ListUsersOptions = { top: 100, skip: 0, cursorKey: KEY, mayIncludeDeleted: false };

beforeAll(async () => {
  handle = await openDatabase({ dataDir: "memory://" });
  db = handle.db;
  await migrateToLatest(db);
});

afterAll(async () => {
  await handle.close();
});

beforeEach(async () => {
  await db.deleteFrom("users").execute();
});

let serial = 0;
/** Inserts users in order and returns their ids; unspecified columns get distinct defaults. */
async function insert(users: Partial<NewUser>[]): Promise<number[]> {
  const ids: number[] = [];
  for (const user of users) {
    serial++;
    const row = await db
      .insertInto("users")
      .values({
        email: `user${serial}@example.com`,
        username: `user${serial}`,
        first_name: "First",
        last_name: "Last",
        status: "active",
        password_hash: null,
        ...user,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    ids.push(row.id);
  }
  return ids;
}

const list = (options: Partial<ListUsersOptions>) => listUsers(db, { ...base, ...options });
const ids = async (options: Partial<ListUsersOptions>) =>
  (await list(options)).rows.map((r) => r.id);

async function rejection(run: () => Promise<unknown>): Promise<AppError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** Follows nextCursor to the end, running `between` after each page, and returns every id seen. */
async function walk(options: Partial<ListUsersOptions>, between?: (page: number) => Promise<void>) {
  const seen: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await list({ ...options, cursor });
    seen.push(...result.rows.map((row) => row.id));
    if (!result.nextCursor) return seen;
    cursor = result.nextCursor;
    await between?.(page);
  }
  throw new Error("the walk did not end");
}

describe("listUsers: count, top and skip", () => {
  it("counts every match and pages with top and skip", async () => {
    const all = await insert(Array.from({ length: 25 }, () => ({})));
    const first = await list({ top: 10 });
    expect(first.rows.map((r) => r.id)).toEqual(all.slice(0, 10));
    expect(first.count).toBe(25);
    expect(first.nextCursor).toBeDefined();

    const last = await list({ top: 10, skip: 20 });
    expect(last.rows.map((r) => r.id)).toEqual(all.slice(20));
    expect(last.count).toBe(25);
    expect(last.nextCursor).toBeUndefined();

    expect((await list({ top: 25 })).nextCursor).toBeUndefined();
    expect(await list({ top: 0 })).toEqual({ rows: [], count: 25 });
    expect(await list({ filter: `id le ${all[4]}`, top: 2 })).toMatchObject({ count: 5 });
    expect(await list({ filter: "  " })).toMatchObject({ count: 25 });
  });

  it("reports the first page's count on every later page, whatever changed since", async () => {
    await insert(Array.from({ length: 6 }, () => ({})));
    for (const filter of [undefined, "status eq 'active'", "lastName eq 'Last'"]) {
      const before = (await list({ filter, top: 0 })).count;
      const counts: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await list({ filter, top: 2, cursor });
        counts.push(page.count);
        cursor = page.nextCursor;
        await insert([{}]); // the listing grows between its pages
      } while (cursor);
      expect(counts.length).toBeGreaterThan(2);
      expect(counts, filter).toEqual(counts.map(() => before));
      // A new listing counts again.
      expect((await list({ filter, top: 0 })).count).toBe(before + counts.length);
    }
  });

  it("returns exactly the public columns", async () => {
    await insert([{ password_hash: "secret-hash" }]);
    const [row] = (await list({})).rows;
    expect(Object.keys(row ?? {}).sort()).toEqual([...PUBLIC_USER_COLUMNS].sort());
    expect(typeof (await list({})).count).toBe("number");
  });

  it("passes listing errors through as AppErrors", async () => {
    expect((await rejection(() => list({ filter: "status eq" }))).message).toBe(
      "position 9: expected a value after 'eq'",
    );
    expect((await rejection(() => list({ orderby: "foo" }))).message).toBe(
      "$orderby position 0: unknown field 'foo'",
    );
    expect((await rejection(() => list({ select: "id,id" }))).apiCode).toBe("INVALID_FILTER");
    expect((await rejection(() => list({ top: -1 }))).apiCode).toBe("VALIDATION_ERROR");
    expect((await list({ select: "id, email" })).select).toEqual(["id", "email"]);
  });
});

describe("listUsers: order", () => {
  it("orders by the given fields with id breaking ties", async () => {
    const [b1, a1, b2, a2, c1] = await insert(
      ["b", "a", "B", "a", "c"].map((last_name) => ({ last_name: last_name.toLowerCase() })),
    );
    expect(await ids({ orderby: "lastName" })).toEqual([a1, a2, b1, b2, c1]);
    expect(await ids({ orderby: "lastName desc" })).toEqual([c1, b1, b2, a1, a2]);
    expect(await ids({ orderby: "lastName desc, id desc" })).toEqual([c1, b2, b1, a2, a1]);
    expect(await ids({ orderby: "id desc" })).toEqual([c1, a2, b2, a1, b1]);
  });
});

describe("listUsers: keyset pagination", () => {
  // Microsecond timestamps with ties: a cursor rounding them to milliseconds would repeat rows.
  const stamp = (i: number) =>
    `2026-03-0${1 + (i % 3)}T10:00:00.${String(123456 + (i % 2)).padStart(6, "0")}Z`;
  const seed = () =>
    insert(
      Array.from({ length: 30 }, (_, i) => ({
        last_name: ["Smith", "Jones", "Brown", "smith"][i % 4] ?? "",
        status: (["active", "pending", "suspended"] as const)[i % 3],
        role: (["User", "Admin"] as const)[i % 2],
        email_verified: i % 5 === 0,
        created_at: stamp(i),
        updated_at: stamp(i * 7),
      })),
    );

  it.each([
    "id",
    "id desc",
    "lastName desc, createdAt",
    "createdAt desc, emailVerified",
    "status, role desc, updatedAt",
    "emailVerified desc, createdAt desc, lastName",
  ])("walks every row exactly once with $orderby=%s", async (orderby) => {
    const all = await seed();
    const seen = await walk({ orderby, top: 4 });
    expect(seen).toEqual(await ids({ orderby }));
    expect([...seen].sort((x, y) => x - y)).toEqual(all);
  });

  it("returns each original row once even when rows are inserted between pages", async () => {
    const all = await seed();
    const options = { orderby: "lastName, createdAt desc", top: 3, filter: "id gt 0" };
    const seen = await walk(options, async (page) => {
      await insert([
        { last_name: ["Aaron", "Smith", "Zed"][page % 3] ?? "", created_at: stamp(page) },
      ]);
    });
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => all.includes(id)).sort((x, y) => x - y)).toEqual(all);
  });

  it("ignores skip once a cursor is given", async () => {
    const all = await seed();
    const first = await list({ top: 5, skip: 2 });
    expect(first.rows.map((r) => r.id)).toEqual(all.slice(2, 7));
    const next = await list({ top: 5, skip: 2, cursor: first.nextCursor });
    expect(next.rows.map((r) => r.id)).toEqual(all.slice(7, 12));
  });

  it("round-trips cursor values exactly, microseconds included, and the count", () => {
    const scope = { order: parseOrderBy("createdAt desc, emailVerified"), filter: "id gt 1" };
    const values = ["2026-03-01T10:00:00.123457+00:00", true, 42];
    const { position, count } = decodeCursor(
      encodeCursor(scope, { values, count: 1234 }, KEY),
      scope,
      KEY,
    );
    expect(count).toBe(1234);
    expect(position.map((p) => p.value)).toEqual(values);
    expect(position.map((p) => p.key.field)).toEqual(["createdAt", "emailVerified", "id"]);
  });

  it("refuses forged, altered, garbled or foreign cursors", async () => {
    await seed();
    const options = { orderby: "lastName", filter: "id gt 0", top: 5 };
    const cursor = (await list(options)).nextCursor ?? "";
    const [body = "", signature = ""] = cursor.split(".");
    const flip = (s: string, at: number) =>
      s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
    const payload = JSON.parse(Buffer.from(body, "base64url").toString());
    const reencode = (change: object) =>
      Buffer.from(JSON.stringify({ ...payload, ...change })).toString("base64url");
    // Signed with the right key as the service signs: only the payload's checks stand in the way.
    const sign = (forged: string) =>
      `${forged}.${createHmac("sha256", KEY).update(forged).digest("base64url")}`;
    const scope = { order: parseOrderBy("lastName"), filter: "id gt 0" };
    const attempts: [string, Partial<ListUsersOptions>][] = [
      [`${flip(body, 5)}.${signature}`, {}],
      [`${body}.${flip(signature, 3)}`, {}],
      [`${body}.${flip(signature, signature.length - 1)}`, {}],
      [`${reencode({ v: ["A", 1] })}.${signature}`, {}],
      [`${reencode({ c: 1 })}.${signature}`, {}],
      [cursor.slice(0, -1), {}],
      [`${cursor}.x`, {}],
      ["garbage", {}],
      ["", {}],
      ["a.b", {}],
      [`${"x".repeat(5000)}.y`, {}],
      [cursor, { cursorKey: "another key" }],
      [cursor, { cursorKey: new TextEncoder().encode(KEY).reverse() }],
      [cursor, { filter: "id gt 1" }],
      [cursor, { orderby: "lastName desc" }],
      [cursor, { orderby: "firstName" }],
      // Properly signed, but the values do not fit the order's columns.
      [encodeCursor(scope, { values: [1, "x"], count: 1 }, KEY), {}],
      [encodeCursor(scope, { values: ["x"], count: 1 }, KEY), {}],
      // Properly signed, but the count is no count.
      [sign(reencode({ c: -1 })), {}],
      [sign(reencode({ c: 1.5 })), {}],
      [sign(reencode({ c: undefined })), {}],
    ];
    for (const [attempt, change] of attempts) {
      const error = await rejection(() => list({ ...options, ...change, cursor: attempt }));
      expect({ code: error.apiCode, message: error.message }).toEqual({
        code: "INVALID_FILTER",
        message: "invalid or expired cursor",
      });
    }
    expect((await list({ ...options, cursor })).rows).toHaveLength(5);
    // The same key as bytes is the same key.
    const asBytes = new TextEncoder().encode(KEY);
    expect((await list({ ...options, cursor, cursorKey: asBytes })).rows).toHaveLength(5);
  });
});

describe("listUsers: injection", () => {
  it("treats SQL in values as plain text that matches nothing", async () => {
    await insert([{ last_name: "Smith" }, { last_name: "Jones" }]);
    for (const filter of [
      "lastName eq 'x'' or ''1''=''1'",
      "lastName eq '''; DROP TABLE users; --'",
      "contains(lastName, ''') or 1=1 --')",
      "email eq 'a'' or email like ''%'",
    ]) {
      expect(await list({ filter })).toEqual({ rows: [], count: 0 });
    }
    const error = await rejection(() => list({ filter: "'; DROP TABLE users; --'" }));
    expect(error.message).toBe("position 0: expected a condition, found ''; DROP TABLE users;…'");
    expect((await list({})).count).toBe(2);
  });

  it("matches %, _ and \\ literally", async () => {
    const [percent, underscore, backslash] = await insert(
      ["100%", "a_b", "c\\d", "axb", "plain"].map((last_name) => ({ last_name })),
    );
    expect(await ids({ filter: "contains(lastName, '%')" })).toEqual([percent]);
    expect(await ids({ filter: "contains(lastName, '_')" })).toEqual([underscore]);
    expect(await ids({ filter: "endswith(lastName, '\\d')" })).toEqual([backslash]);
  });
});

describe("listUsers: soft-deleted users", () => {
  it("leaves them out unless allowed and asked for with status 'deleted'", async () => {
    const [active, deleted] = await insert([
      { status: "active" },
      { status: "deleted", deleted_at: new Date() },
    ]);
    const asked = "status eq 'deleted' or status eq 'active'";
    expect(await ids({})).toEqual([active]);
    expect(await ids({ mayIncludeDeleted: true })).toEqual([active]);
    expect(await ids({ filter: asked })).toEqual([active]);
    expect(await ids({ filter: asked, mayIncludeDeleted: true })).toEqual([active, deleted]);
    expect(await ids({ filter: "status in ('deleted')", mayIncludeDeleted: true })).toEqual([
      deleted,
    ]);
    expect(await ids({ filter: "not (status eq 'deleted')", mayIncludeDeleted: true })).toEqual([
      active,
    ]);
    expect(await list({ filter: asked, mayIncludeDeleted: true })).toMatchObject({ count: 2 });
  });
});

describe("listUsers: visibility", () => {
  it("ANDs the caller's visibility with every filter, count and page", async () => {
    const roles = ["User", "Admin", "User", "AppAdmin", "User"] as const;
    const users = await insert(roles.map((role) => ({ role })));
    const visible = users.filter((_, i) => roles[i] === "User");
    const visibility = (eb: Parameters<NonNullable<ListUsersOptions["visibility"]>>[0]) =>
      eb("role", "=", "User");
    for (const filter of [
      undefined,
      "id gt 0 or role eq 'Admin'",
      "not (role eq 'User') or id ge 0",
    ]) {
      const page = await list({ filter, visibility });
      expect(page.rows.map((r) => r.id)).toEqual(visible);
      expect(page.count).toBe(visible.length);
    }
    expect(await walk({ visibility, top: 1, filter: "role ne 'User' or id gt 0" })).toEqual(
      visible,
    );
  });

  it("keeps a raw `a or b` visibility from leaking past the AND", async () => {
    const [first, second] = await insert([{}, {}, {}]);
    const visibility = () => sql<SqlBool>`id = ${first} or id = ${second}`;
    expect(await ids({ visibility, filter: "id ne 0 or id eq 0" })).toEqual([first, second]);
    expect(await ids({ visibility, filter: `id eq ${second}` })).toEqual([second]);
  });
});
