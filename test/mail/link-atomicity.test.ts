import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toAppError } from "../../server/errors/api-errors.ts";
import { createMailTestApp, linkIn, type MailTestApp } from "../helpers/mail-harness.ts";
import { PASSWORD } from "../helpers/test-app.ts";

/**
 * A mail link that sets a password is spent in the same transaction that stores the password:
 * when storing fails, the link still works. The failure is injected with a trigger on `users`
 * that refuses a password write for one user, as a crash or a lost connection would.
 */
const NEW_PASSWORD = "amber-glacier-orchestra-42-tundra";

let t: MailTestApp;

beforeAll(async () => {
  t = await createMailTestApp();
  await sql`
    create function refuse_password_write() returns trigger language plpgsql as $$
    begin raise exception 'injected failure while storing the password'; end $$`.execute(t.db);
});
afterAll(() => t.close());

/** Makes every password write for this user fail until the returned function is called. */
async function breakPasswordWrites(userId: number): Promise<() => Promise<void>> {
  const name = sql.raw(`refuse_password_${Number(userId)}`);
  await sql`
    create trigger ${name} before update of password_hash on users
    for each row when (new.id = ${sql.lit(Number(userId))})
    execute function refuse_password_write()`.execute(t.db);
  return async () => {
    await sql`drop trigger ${name} on users`.execute(t.db);
  };
}

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "POST", url, payload, headers });
const login = (email: string, password: string) => post("/api/auth/token", { email, password });
const userRow = (id: number) =>
  t.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

describe("password-reset confirm", () => {
  it("keeps the link usable when storing the password fails (REST, then tRPC)", async () => {
    const user = await t.createUser({ email: "fragile-reset@mail.test" });
    await post("/api/auth/password-reset", { email: user.email });
    const { token } = linkIn(await t.lastMailTo(user.email), "/reset-password");

    const repair = await breakPasswordWrites(user.id);
    const failed = await post("/api/auth/password-reset/confirm", {
      token,
      newPassword: NEW_PASSWORD,
    });
    expect(failed.statusCode).toBe(500);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(200);
    await repair();

    const caller = await t.callerFor();
    await expect(
      caller.auth.passwordResetConfirm({ token, newPassword: NEW_PASSWORD }),
    ).resolves.toMatchObject({ success: true });
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(401);
    // Spent now, once.
    const again = await post("/api/auth/password-reset/confirm", {
      token,
      newPassword: NEW_PASSWORD,
    });
    expect(again.statusCode).toBe(409);
  });
});

describe("accept invitation", () => {
  it("keeps the link usable when storing the password fails (tRPC, then REST)", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    const created = await post(
      "/api/users",
      { email: "fragile-invite@mail.test", firstName: "Ivy", lastName: "Invited" },
      admin.auth,
    );
    expect(created.statusCode).toBe(201);
    const id = (created.json() as { id: number }).id;
    const { token } = linkIn(await t.lastMailTo("fragile-invite@mail.test"), "/accept-invitation");

    const repair = await breakPasswordWrites(id);
    const caller = await t.callerFor();
    const failure = await caller.users
      .acceptInvitation({ token, password: NEW_PASSWORD })
      .catch((error: unknown) => toAppError(error));
    expect(failure).toMatchObject({ apiCode: "INTERNAL_ERROR" });
    expect(await userRow(id)).toMatchObject({ status: "invited", password_hash: null });
    await repair();

    const res = await post("/api/users/invitation/accept", { token, password: NEW_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(await userRow(id)).toMatchObject({ status: "active", email_verified: true });
    expect((await login("fragile-invite@mail.test", NEW_PASSWORD)).statusCode).toBe(200);
  });
});
