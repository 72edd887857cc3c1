// db/compiled-once.ts: a query compiled once answers every later call with that call's arguments,
// in and out of transactions, on PGlite and PostgreSQL alike, and refuses at its first call a
// build that would bake an argument into the SQL or transform it.

import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compiledOnce } from "../../db/compiled-once.ts";
import type { Database } from "../../db/database.ts";
import type { DatabaseHandle } from "../../db/open.ts";
import { openTestDatabase } from "../helpers/test-database.ts";

let handle: DatabaseHandle;
let db: Kysely<Database>;

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
});

afterAll(async () => {
  await handle.close();
});

describe("compiledOnce", () => {
  it("runs the SQL compiled at the first call with each call's own arguments", async () => {
    let builds = 0;
    const pair = compiledOnce((kdb, a: number, b: string) => {
      builds += 1;
      return kdb.selectNoFrom([
        sql<number>`${a}::int + 1`.as("next"),
        sql<string>`upper(${b}::text)`.as("loud"),
      ]);
    });
    expect(await pair(db, 1, "ab")).toEqual([{ next: 2, loud: "AB" }]);
    expect(await pair(db, 41, "x'; drop table users; --")).toEqual([
      { next: 42, loud: "X'; DROP TABLE USERS; --" },
    ]);
    // Many at once: no call sees another's arguments.
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => pair(db, i, `n${i}`).then((rows) => rows[0])),
    );
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => ({ next: i + 1, loud: `N${i}` })));
    expect(builds).toBe(1);
  });

  it("runs inside a transaction, on the transaction's connection", async () => {
    const live = compiledOnce((kdb, id: number) =>
      kdb.selectFrom("users").select("id").where("id", "=", id),
    );
    let seen: { id: number; inside: unknown; outside: unknown } | undefined;
    const rollBack = new Error("roll back");
    await expect(
      db.transaction().execute(async (tx) => {
        const inserted = await tx
          .insertInto("users")
          .values({
            email: "compiled-once@example.test",
            username: "compiled_once",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            first_name: "C",
            last_name: "O",
            status: "active",
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        // Not committed: outside the transaction the row is not there yet (PostgreSQL only: PGlite
        // has one connection, which the transaction holds until it ends).
        seen = {
          id: inserted.id,
          inside: await live(tx, inserted.id),
          outside: handle.kind === "postgres" ? await live(db, inserted.id) : [],
        };
        throw rollBack;
      }),
    ).rejects.toBe(rollBack);
    if (!seen) throw new Error("the transaction did not run");
    expect(seen.inside).toEqual([{ id: seen.id }]);
    expect(seen.outside).toEqual([]);
  });

  it("refuses a build that transforms an argument or leaves it out", async () => {
    const lowered = compiledOnce((kdb, name: string) =>
      kdb.selectFrom("users").select("id").where("username", "=", String(name).toLowerCase()),
    );
    await expect(lowered(db, "Ada")).rejects.toThrow(/argument 0 must reach the query once/);
    const unused = compiledOnce((kdb, _id: number) => kdb.selectFrom("users").select("id"));
    await expect(unused(db, 1)).rejects.toThrow(/argument 0 must reach the query once/);
  });
});
