import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Database, STATUSES, type UserStatus } from "../../db/database.ts";
import { countLiveUsers } from "../../db/live-user-counts.ts";
import type { DatabaseHandle } from "../../db/open.ts";
import { restoreUser, softDeleteUser } from "../../db/users.ts";
import { listUsers } from "../../server/listing/list-users.ts";
import { openTestDatabase } from "../helpers/test-database.ts";

// The trigger-kept counters of live users (migration live-user-counts), on PGlite and, with
// DATABASE_URL, on PostgreSQL, where the concurrent cases really run concurrently.

let handle: DatabaseHandle;
let db: Kysely<Database>;

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
});

afterAll(async () => {
  await handle.close();
});

beforeEach(async () => {
  await db.deleteFrom("users").execute();
});

let serial = 0;
function newUser(status: UserStatus = "active") {
  serial++;
  return {
    email: `count${serial}@example.com`,
    username: `count${serial}`,
    first_name: "Count",
    last_name: "Me",
    status,
    password_hash: null,
  };
}

async function insertUsers(statuses: UserStatus[]): Promise<number[]> {
  const rows = await db
    .insertInto("users")
    .values(statuses.map((status) => newUser(status)))
    .returning("id")
    .execute();
  return rows.map((row) => row.id);
}

/** The counters per status next to count(*) of the table itself: they must always agree. */
async function expectCountersExact(): Promise<void> {
  const counted = await db
    .selectFrom("users")
    .select(["status", sql<number>`count(*)::int`.as("n")])
    .where("deleted_at", "is", null)
    .groupBy("status")
    .execute();
  const actual = Object.fromEntries(counted.map((row) => [row.status, row.n]));
  for (const status of STATUSES) {
    expect(await countLiveUsers(db, [status]), status).toBe(actual[status] ?? 0);
  }
  const total = counted.reduce((sum, row) => sum + row.n, 0);
  expect(await countLiveUsers(db)).toBe(total);
}

describe("live user counters", () => {
  it("follow inserts (one by one and in bulk), status changes, soft deletes, restores and deletes", async () => {
    await expectCountersExact();
    const [first = 0, second = 0] = await insertUsers(["active", "pending", "active", "invited"]);
    await insertUsers(["suspended"]);
    await expectCountersExact();
    await db.updateTable("users").set({ status: "suspended" }).where("id", "=", first).execute();
    await db.updateTable("users").set({ first_name: "Renamed" }).execute();
    await expectCountersExact();
    expect(await softDeleteUser(db, second)).toBe(true);
    await expectCountersExact();
    expect(await restoreUser(db, second)).toBeDefined();
    await expectCountersExact();
    await db
      .updateTable("users")
      .set({ status: "active" })
      .where("status", "!=", "active")
      .execute();
    await expectCountersExact();
    await db.deleteFrom("users").where("id", "=", first).execute();
    await expectCountersExact();
    expect(await countLiveUsers(db, ["active", "pending"])).toBe(4);
  });

  it("leave out a rolled-back change, and start from zero after truncate", async () => {
    await insertUsers(["active", "active"]);
    await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto("users").values(newUser()).execute();
        await trx.updateTable("users").set({ status: "suspended" }).execute();
        throw new Error("roll back");
      })
      .catch(() => undefined);
    expect(await countLiveUsers(db, ["active"])).toBe(2);
    await expectCountersExact();
    await sql`truncate users cascade`.execute(db);
    await expectCountersExact();
    await insertUsers(["pending"]);
    await expectCountersExact();
  });

  it("stay exact under concurrent signups, deletes, restores and status changes", async () => {
    const statuses: UserStatus[] = ["active", "suspended", "pending", "invited"];
    const ids = await insertUsers(
      Array.from({ length: 40 }, (_, i) => statuses[i % statuses.length] as UserStatus),
    );
    const outcomes: PromiseSettledResult<unknown>[] = [];
    for (let round = 0; round < 5; round++) {
      // A round at a time: the pool's ten connections, each change waiting for the others' locks.
      const work: Promise<unknown>[] = [];
      for (const [i, id] of ids.entries()) {
        const status = statuses[(i + round) % statuses.length] as UserStatus;
        if (i % 5 === 0) work.push(softDeleteUser(db, id));
        else if (i % 5 === 1) work.push(restoreUser(db, id));
        else work.push(db.updateTable("users").set({ status }).where("id", "=", id).execute());
      }
      work.push(insertUsers([statuses[round % statuses.length] as UserStatus]));
      // Two users changed in one transaction, in the opposite order every other round.
      const [a = 0, b = 0] = round % 2 ? ids.slice(2, 4) : ids.slice(2, 4).reverse();
      work.push(
        db.transaction().execute(async (trx) => {
          await trx.updateTable("users").set({ status: "suspended" }).where("id", "=", a).execute();
          await trx.updateTable("users").set({ status: "active" }).where("id", "=", b).execute();
        }),
      );
      work.push(
        db
          .deleteFrom("users")
          .where("id", "=", ids[ids.length - 1 - round] ?? 0)
          .execute(),
      );
      outcomes.push(...(await Promise.allSettled(work)));
    }
    // Only a deadlock between those two-user transactions may refuse one; it changes nothing.
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(String(outcome.reason)).toMatch(/deadlock/);
    }
    await expectCountersExact();
  });

  it("answer an unfiltered or status-only listing, and follow the same rules as count(*)", async () => {
    await insertUsers(["active", "active", "pending", "suspended"]);
    const [gone = 0] = await insertUsers(["active"]);
    await softDeleteUser(db, gone);
    const list = (filter?: string) =>
      listUsers(db, { filter, top: 1, skip: 0, cursorKey: "k", mayIncludeDeleted: true });
    expect((await list()).count).toBe(4);
    expect((await list("status eq 'active'")).count).toBe(2);
    expect((await list("status in ('active', 'pending')")).count).toBe(3);
    // Counted from the table: an admin's filter that asks for deleted users.
    expect((await list("status eq 'deleted'")).count).toBe(1);
    expect((await list("status in ('active', 'deleted')")).count).toBe(3);
  });
});
