import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveUsername } from "../../server/accounts/accounts.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

/**
 * Races between requests, with real concurrency on PostgreSQL (the pool runs them side by side);
 * on PGlite they serialise, and the answers must be the same.
 */
let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken({ role: "AppAdmin" });
});
afterAll(() => t.close());

const ROUNDS = 5;
const CONCURRENT = 20;

const inject = (method: "POST" | "DELETE" | "PATCH", url: string, payload?: object) =>
  t.app.inject({ method, url, headers: admin.auth, ...(payload && { payload }) });

describe("usernames derived from the email under concurrency", () => {
  it(`${ROUNDS} rounds of ${CONCURRENT} signups sharing a local part: all 201, all distinct (REST and tRPC)`, async () => {
    const anonymous = await t.callerFor();
    for (let round = 0; round < ROUNDS; round++) {
      const local = `race${round}x`;
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, i) => {
          const input = {
            email: `${local}@host${i}.example`,
            password: PASSWORD,
            firstName: "Race",
            lastName: `No ${i}`,
          };
          if (i % 2) {
            const res = await t.app.inject({
              method: "POST",
              url: "/api/users/signup",
              payload: input,
            });
            return { status: res.statusCode, body: res.json() };
          }
          try {
            return { status: 201, body: await anonymous.users.signup(input) };
          } catch (error) {
            return { status: 0, body: error };
          }
        }),
      );
      const failed = answers.filter((answer) => answer.status !== 201);
      expect(failed, JSON.stringify(failed)).toEqual([]);
      const usernames = answers.map((answer) => (answer.body as { username: string }).username);
      expect(new Set(usernames).size).toBe(CONCURRENT);
      for (const name of usernames) expect(name).toMatch(new RegExp(`^${local}\\d*$`));
    }
  });

  it(`${ROUNDS} rounds of ${CONCURRENT} admin creates without a username: all 201`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const local = `invitee${round}x`;
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          inject("POST", "/api/users", {
            email: `${local}@host${i}.example`,
            firstName: "Invited",
            lastName: `No ${i}`,
          }),
        ),
      );
      expect(answers.map((res) => res.statusCode)).toEqual(answers.map(() => 201));
      expect(new Set(answers.map((res) => res.json().username)).size).toBe(CONCURRENT);
    }
  });

  it("keeps a randomly suffixed username valid: at most 32 characters, with a letter", async () => {
    for (const email of [
      `${"a".repeat(40)}@x.example`,
      `${"1".repeat(27)}a@x.example`,
      "me@x.example",
    ]) {
      const name = await t.db.transaction().execute((tx) => deriveUsername(tx, email, 10));
      expect(name).toMatch(/^(?=.*[a-z])[a-z0-9._-]{3,32}$/);
      expect(name).toMatch(/\d{6}$/);
    }
  });

  it("still answers USERNAME_TAKEN to a signup that chose a taken username, EMAIL_TAKEN to a taken email", async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.app.inject({
          method: "POST",
          url: "/api/users/signup",
          payload: {
            email: `chosen${i}@example.com`,
            username: "chosen.name",
            password: PASSWORD,
            firstName: "C",
            lastName: "N",
          },
        }),
      ),
    );
    const codes = answers.map((res) => (res.statusCode === 201 ? "created" : res.json().code));
    expect(codes.filter((code) => code === "created")).toHaveLength(1);
    expect(codes.filter((code) => code === "USERNAME_TAKEN")).toHaveLength(5);

    const sameEmail = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.app.inject({
          method: "POST",
          url: "/api/users/signup",
          payload: { email: "same@example.com", password: PASSWORD, firstName: "S", lastName: "E" },
        }),
      ),
    );
    const emailCodes = sameEmail.map((res) =>
      res.statusCode === 201 ? "created" : res.json().code,
    );
    expect(emailCodes.filter((code) => code === "created")).toHaveLength(1);
    expect(emailCodes.filter((code) => code === "EMAIL_TAKEN")).toHaveLength(5);
  });
});

const auditEntries = (userId: number, action: string) =>
  t.db
    .selectFrom("audit_log")
    .select("id")
    .where("target_user_id", "=", userId)
    .where("action", "=", action)
    .execute();

const userRow = (id: number) =>
  t.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("concurrent admin state changes of one user", () => {
  it(`${ROUNDS} rounds of ${CONCURRENT} concurrent deletes: all 200, one audit entry, status kept for restore`, async () => {
    const caller = await t.callerFor(admin.user);
    for (let round = 0; round < ROUNDS; round++) {
      const target = await t.createUser({ status: "suspended" });
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, async (_, i) => {
          if (i % 2) return (await inject("DELETE", `/api/users/${target.id}`)).statusCode;
          await caller.users.delete({ id: target.id });
          return 200;
        }),
      );
      expect(answers).toEqual(answers.map(() => 200));
      expect(await auditEntries(target.id, "user.delete")).toHaveLength(1);
      // A loser must not overwrite the status to restore with "deleted".
      expect(await userRow(target.id)).toMatchObject({
        status: "deleted",
        status_before_delete: "suspended",
      });
      // Deleting a deleted user again is the same no-op, without an entry.
      expect((await inject("DELETE", `/api/users/${target.id}`)).statusCode).toBe(200);
      expect(await auditEntries(target.id, "user.delete")).toHaveLength(1);
    }
  });

  it(`${ROUNDS} rounds of ${CONCURRENT} concurrent restores: one 200 and one entry, the rest 409 CONFLICT; the status before deletion comes back`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const target = await t.createUser({ status: "suspended" });
      expect((await inject("DELETE", `/api/users/${target.id}`)).statusCode).toBe(200);
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, () => inject("POST", `/api/users/${target.id}/restore`)),
      );
      const statuses = answers.map((res) => res.statusCode);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      for (const res of answers.filter((res) => res.statusCode !== 200)) {
        expect(res.statusCode).toBe(409);
        expect(res.json().code).toBe("CONFLICT");
      }
      expect(await auditEntries(target.id, "user.restore")).toHaveLength(1);
      expect(await userRow(target.id)).toMatchObject({ status: "suspended", deleted_at: null });
    }
  });

  it(`${ROUNDS} rounds: concurrent suspends write one entry; a status edit racing a delete never revives the user`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const target = await t.createUser();
      const suspends = await Promise.all(
        Array.from({ length: CONCURRENT }, () =>
          inject("PATCH", `/api/users/${target.id}`, { status: "suspended" }),
        ),
      );
      expect(suspends.map((res) => res.statusCode)).toEqual(suspends.map(() => 200));
      expect(await auditEntries(target.id, "user.edit")).toHaveLength(1);

      const mixed = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          i % 2
            ? inject("DELETE", `/api/users/${target.id}`)
            : inject("PATCH", `/api/users/${target.id}`, { status: "active" }),
        ),
      );
      for (const res of mixed) expect([200, 409], res.body).toContain(res.statusCode);
      const row = await userRow(target.id);
      // Whatever the order, a deleted user stays deleted: status and deleted_at agree.
      expect(row.status).toBe("deleted");
      expect(row.deleted_at).not.toBeNull();
      expect(await auditEntries(target.id, "user.delete")).toHaveLength(1);
    }
  });
});
