import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../routers/router.ts";
import { createContext } from "../../server/context.ts";
import { expectError } from "../helpers/expect-error.ts";
import { agedAccessToken, enrolTotp } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// DELETE /api/users/me with step-up: a recent sign-in suffices; else the password, for a user
// without a second factor (as before step-up); else 403 STEP_UP_REQUIRED.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
const deleteMe = (accessToken: string, payload?: object) =>
  t.app.inject({
    method: "DELETE",
    url: "/api/users/me",
    headers: bearer(accessToken),
    ...(payload && { payload }),
  });
const statusOf = async (userId: number) =>
  (
    await t.db
      .selectFrom("users")
      .select("status")
      .where("id", "=", userId)
      .executeTakeFirstOrThrow()
  ).status;

describe("deleting one's own account with step-up", () => {
  it("a recent sign-in needs no password", async () => {
    const { user, accessToken } = await t.userWithToken();
    const res = await deleteMe(accessToken);
    expect(res.statusCode, res.body).toBe(200);
    expect(await statusOf(user.id)).toBe("deleted");
  });

  it("a recent sign-in with a wrong password is still refused", async () => {
    const { user, accessToken } = await t.userWithToken();
    expectError(
      await deleteMe(accessToken, { currentPassword: `${PASSWORD}x` }),
      403,
      "INVALID_CURRENT_PASSWORD",
    );
    expect(await statusOf(user.id)).toBe("active");
  });

  it("an old sign-in: STEP_UP_REQUIRED without a password, the password does as before", async () => {
    const user = await t.createUser();
    const old = await agedAccessToken(t, user);
    expectError(await deleteMe(old), 403, "STEP_UP_REQUIRED");
    expectError(await deleteMe(old, {}), 403, "STEP_UP_REQUIRED");
    expect(await statusOf(user.id)).toBe("active");
    const res = await deleteMe(old, { currentPassword: PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(await statusOf(user.id)).toBe("deleted");
  });

  it("with a second factor, an old sign-in's password is not enough: step up, then delete", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const old = await agedAccessToken(t, user);
    expectError(await deleteMe(old, { currentPassword: PASSWORD }), 403, "STEP_UP_REQUIRED");
    expect(await statusOf(user.id)).toBe("active");
    const stepped = await t.app.inject({
      method: "POST",
      url: "/api/auth/step-up",
      headers: bearer(old),
      payload: { factor: "totp", code: app.code() },
    });
    expect(stepped.statusCode, stepped.body).toBe(200);
    expect((await deleteMe(stepped.json().accessToken)).statusCode).toBe(200);
    expect(await statusOf(user.id)).toBe("deleted");
  });

  it("the tRPC door: users.deleteMe with and without a recent sign-in", async () => {
    const user = await t.createUser();
    const old = createCaller(createContext(t.deps, bearer(await agedAccessToken(t, user))));
    await expect(old.users.deleteMe({})).rejects.toMatchObject({ apiCode: "STEP_UP_REQUIRED" });
    const fresh = await t.callerFor(user);
    await expect(fresh.users.deleteMe({})).resolves.toMatchObject({ success: true });
  });
});
