import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertMembership } from "../../db/organizations.ts";
import { toAppError } from "../../server/errors/api-errors.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Deleting an organization races with the writes that need it to exist or to stay empty.
 * Real concurrency on PostgreSQL (the pool runs both sides at once); PGlite serialises them.
 * Whatever the order, exactly one side wins, the loser gets an API error (never a 500),
 * and what was answered 200 is what is stored.
 */
let t: TestApp;
let root: Awaited<ReturnType<TestApp["userWithToken"]>>;
let caller: Awaited<ReturnType<TestApp["callerFor"]>>;
beforeAll(async () => {
  t = await createTestApp();
  root = await t.userWithToken({ role: "AppAdmin" });
  caller = await t.callerFor(root.user);
});
afterAll(() => t.close());

const ROUNDS = 5;
const PAIRS = 20;

type Answer = { status: number; code?: string };

/** The same operation through either door, answered as status and API error code. */
async function through(
  door: "rest" | "trpc",
  rest: { method: "POST" | "PUT" | "PATCH" | "DELETE"; url: string; payload?: object },
  trpc: () => Promise<unknown>,
): Promise<Answer> {
  if (door === "rest") {
    const res = await t.app.inject({ ...rest, url: `/api${rest.url}`, headers: root.auth });
    return res.statusCode < 300
      ? { status: res.statusCode }
      : { status: res.statusCode, code: res.json().code };
  }
  try {
    await trpc();
    return { status: 200 };
  } catch (error) {
    const appError = toAppError(error);
    const status = { CONFLICT: 409, NOT_FOUND: 404 }[appError.apiCode as string] ?? 500;
    return { status, code: appError.apiCode };
  }
}

const deleteOrg = (door: "rest" | "trpc", id: number) =>
  through(door, { method: "DELETE", url: `/organizations/${id}` }, () =>
    caller.organizations.delete({ id }),
  );

async function newOrg(name: string, parentId?: number): Promise<number> {
  const org = await caller.organizations.create({ name, ...(parentId && { parentId }) });
  return org.id;
}

const orgExists = async (id: number) =>
  (await t.db.selectFrom("organizations").select("id").where("id", "=", id).executeTakeFirst()) !==
  undefined;

/** One side won: the delete, or the other write. The loser says why, as API.md says. */
/** Runs both at once, the second started first when `swap`, so that both orders occur. */
async function both<A, B>(a: () => Promise<A>, b: () => Promise<B>, swap: boolean) {
  if (!swap) return Promise.all([a(), b()]);
  const second = b();
  return [await a(), await second] as const;
}

const outcomes = new Map<string, number>();
afterAll(() => {
  // How the races went, for the record: both orders should occur on PostgreSQL.
  console.info(`delete vs other write, outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
});

function expectOneWinner(deleted: Answer, other: Answer, otherLoses: string[]) {
  const key = `delete ${deleted.status}${deleted.code ? ` ${deleted.code}` : ""} / other ${other.status}${other.code ? ` ${other.code}` : ""}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  expect([deleted.status, other.status]).not.toContain(500);
  if (deleted.status === 200) {
    expect(other.status, JSON.stringify(other)).not.toBe(200);
    expect(otherLoses).toContain(other.code);
  } else {
    expect(deleted).toEqual({ status: 409, code: "CONFLICT" });
    expect(other.status).toBeLessThan(300);
  }
}

describe("deleting an organization races with adding a member", () => {
  it(`${ROUNDS} rounds of ${PAIRS} concurrent delete/add-member pairs: one winner, never a 500, no phantom membership`, async () => {
    const member = await t.createUser();
    for (let round = 0; round < ROUNDS; round++) {
      const orgs = await Promise.all(
        Array.from({ length: PAIRS }, (_, i) => newOrg(`m${round}-${i}`)),
      );
      await Promise.all(
        orgs.map(async (id, i) => {
          const door = i % 2 ? "rest" : "trpc";
          const [deleted, added] = await both(
            () => deleteOrg(door, id),
            () =>
              through(
                door,
                {
                  method: "PUT",
                  url: `/organizations/${id}/members/${member.id}`,
                  payload: { role: "Member" },
                },
                () => caller.organizations.putMember({ id, userId: member.id, role: "Member" }),
              ),
            i % 4 >= 2,
          );
          expectOneWinner(deleted, added, ["NOT_FOUND", "CONFLICT"]);
          const membership = await t.db
            .selectFrom("memberships")
            .select("user_id")
            .where("organization_id", "=", id)
            .executeTakeFirst();
          expect(membership !== undefined).toBe(added.status === 200);
          expect(await orgExists(id)).toBe(deleted.status !== 200);
        }),
      );
    }
  });
});

describe("deleting an organization races with creating a child under it", () => {
  it(`${ROUNDS} rounds of ${PAIRS} concurrent delete/create-child pairs: one winner, never a 500`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const parents = await Promise.all(
        Array.from({ length: PAIRS }, (_, i) => newOrg(`p${round}-${i}`)),
      );
      await Promise.all(
        parents.map(async (parentId, i) => {
          const door = i % 2 ? "rest" : "trpc";
          const name = `child of ${parentId}`;
          const [deleted, created] = await both(
            () => deleteOrg(door, parentId),
            () =>
              through(
                door,
                { method: "POST", url: "/organizations", payload: { name, parentId } },
                () => caller.organizations.create({ name, parentId }),
              ),
            i % 4 >= 2,
          );
          expectOneWinner(deleted, created, ["NOT_FOUND", "CONFLICT"]);
          const children = await t.db
            .selectFrom("organizations")
            .select("id")
            .where("parent_id", "=", parentId)
            .execute();
          expect(children).toHaveLength(created.status === 201 || created.status === 200 ? 1 : 0);
        }),
      );
    }
  });
});

describe("deleting an organization races with moving another under it", () => {
  it(`${ROUNDS} rounds of ${PAIRS} concurrent delete/move pairs: one winner, never a 500`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const pairs = await Promise.all(
        Array.from({ length: PAIRS }, async (_, i) => ({
          target: await newOrg(`t${round}-${i}`),
          moving: await newOrg(`mv${round}-${i}`),
        })),
      );
      await Promise.all(
        pairs.map(async ({ target, moving }, i) => {
          const door = i % 2 ? "rest" : "trpc";
          const [deleted, moved] = await both(
            () => deleteOrg(door, target),
            () =>
              through(
                door,
                { method: "PATCH", url: `/organizations/${moving}`, payload: { parentId: target } },
                () => caller.organizations.edit({ id: moving, parentId: target }),
              ),
            i % 4 >= 2,
          );
          expectOneWinner(deleted, moved, ["NOT_FOUND", "CONFLICT"]);
          const row = await t.db
            .selectFrom("organizations")
            .select("parent_id")
            .where("id", "=", moving)
            .executeTakeFirstOrThrow();
          expect(row.parent_id).toBe(moved.status === 200 ? target : null);
        }),
      );
    }
  });
});

describe("removing the same member concurrently", () => {
  it(`${ROUNDS} rounds of ${PAIRS} concurrent removals: one 200 and one audit entry, the rest 404`, async () => {
    const member = await t.createUser();
    for (let round = 0; round < ROUNDS; round++) {
      const id = await newOrg(`r${round}`);
      await caller.organizations.putMember({ id, userId: member.id, role: "Member" });
      const answers = await Promise.all(
        Array.from({ length: PAIRS }, (_, i) =>
          through(
            i % 2 ? "rest" : "trpc",
            { method: "DELETE", url: `/organizations/${id}/members/${member.id}` },
            () => caller.organizations.deleteMember({ id, userId: member.id }),
          ),
        ),
      );
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      expect(answers.filter((answer) => answer.code === "NOT_FOUND")).toHaveLength(PAIRS - 1);
      const entries = await t.db
        .selectFrom("audit_log")
        .select("id")
        .where("action", "=", "membership.delete")
        .where("target_organization_id", "=", id)
        .execute();
      expect(entries).toHaveLength(1);
    }
  });
});

describe("a foreign-key violation that escapes is a conflict", () => {
  it("maps PostgreSQL's 23503 (from pg or PGlite) to 409 CONFLICT, never a 500", async () => {
    const member = await t.createUser();
    const error = await upsertMembership(t.db, {
      userId: member.id,
      organizationId: 2147483000,
      role: "Member",
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "23503" });
    expect(toAppError(error)).toMatchObject({ apiCode: "CONFLICT", code: "CONFLICT" });
    expect(JSON.stringify(toAppError(error).message)).not.toMatch(/constraint|memberships/);
  });
});
