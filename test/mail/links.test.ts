import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_URL, createMailTestApp, linkIn, type MailTestApp } from "../helpers/mail-harness.ts";
import { PASSWORD } from "../helpers/test-app.ts";

const NEW_PASSWORD = "amber-glacier-orchestra-42-tundra";
const INVALID_LINK = { code: "CONFLICT", message: "This link is invalid, used or expired" };

let t: MailTestApp;

beforeAll(async () => {
  t = await createMailTestApp();
});
afterAll(() => t.close());

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "POST", url, payload, headers });

const userRow = (id: number) =>
  t.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

const login = (email: string, password: string) => post("/api/auth/token", { email, password });

async function signup(email: string) {
  const res = await post("/api/users/signup", {
    email,
    password: PASSWORD,
    firstName: "Sam",
    lastName: "Signup",
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: number };
}

describe("POST /api/users/verification/confirm", () => {
  it("activates a pending user once; the same link then gives 409 CONFLICT", async () => {
    const { id } = await signup("verify-once@mail.test");
    const { token } = linkIn(await t.lastMailTo("verify-once@mail.test"), "/verify-email");

    const res = await post("/api/users/verification/confirm", { token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, message: expect.any(String) });
    expect(await userRow(id)).toMatchObject({ status: "active", email_verified: true });

    const again = await post("/api/users/verification/confirm", { token });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(INVALID_LINK);
    const viaTrpc = (await t.callerFor()).users.confirmVerification({ token });
    await expect(viaTrpc).rejects.toMatchObject({
      code: "CONFLICT",
      message: INVALID_LINK.message,
    });
  });

  it("verifies an active unverified user without changing the status", async () => {
    const user = await t.createUser({ status: "active", emailVerified: false });
    const token = await reissueVerification(user.id);
    await (await t.callerFor()).users.confirmVerification({ token });
    expect(await userRow(user.id)).toMatchObject({ status: "active", email_verified: true });
  });

  it("refuses a link replaced by a reissue, and the new one works", async () => {
    const { id } = await signup("reissued@mail.test");
    const first = linkIn(await t.lastMailTo("reissued@mail.test"), "/verify-email").token;
    const second = await reissueVerification(id);
    expect(second).not.toBe(first);

    const old = await post("/api/users/verification/confirm", { token: first });
    expect(old.statusCode).toBe(409);
    expect(old.json()).toEqual(INVALID_LINK);
    expect((await post("/api/users/verification/confirm", { token: second })).statusCode).toBe(200);
  });

  it("refuses an expired link", async () => {
    const { id } = await signup("expired@mail.test");
    const { token } = linkIn(await t.lastMailTo("expired@mail.test"), "/verify-email");
    await t.db
      .updateTable("email_tokens")
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where("user_id", "=", id)
      .execute();
    const res = await post("/api/users/verification/confirm", { token });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual(INVALID_LINK);
    expect(await userRow(id)).toMatchObject({ status: "pending", email_verified: false });
  });

  it("refuses an unknown token, another kind's token (without spending it) and unknown fields", async () => {
    expect(
      (await post("/api/users/verification/confirm", { token: "not-a-real-token" })).json(),
    ).toEqual(INVALID_LINK);
    const invited = await invite("wrong-kind@mail.test");
    const res = await post("/api/users/verification/confirm", { token: invited.token });
    expect(res.statusCode).toBe(409);
    const accept = await post("/api/users/invitation/accept", {
      token: invited.token,
      password: NEW_PASSWORD,
    });
    expect(accept.statusCode).toBe(200);
    const extra = await post("/api/users/verification/confirm", { token: "x", status: "active" });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ code: "VALIDATION_ERROR" });
  });
});

async function reissueVerification(userId: number): Promise<string> {
  const user = await userRow(userId);
  const tokens = await t.login(user);
  const res = await post(
    `/api/users/${userId}/verification`,
    {},
    { authorization: `Bearer ${tokens.accessToken}` },
  );
  expect(res.statusCode).toBe(200);
  return linkIn(await t.lastMailTo(user.email), "/verify-email").token;
}

async function invite(email: string) {
  const admin = await t.userWithToken({ role: "Admin" });
  const res = await post(
    "/api/users",
    { email, firstName: "Ivy", lastName: "Invited" },
    admin.auth,
  );
  expect(res.statusCode).toBe(201);
  const { token } = linkIn(await t.lastMailTo(email), "/accept-invitation");
  return { id: (res.json() as { id: number }).id, token, admin };
}

describe("POST /api/users/invitation/accept", () => {
  it("refuses a weak password without spending the link, then activates the user once", async () => {
    const { id, token } = await invite("ivy@mail.test");

    const weak = await post("/api/users/invitation/accept", {
      token,
      password: "passwordpassword",
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({ code: "WEAK_PASSWORD" });

    const res = await post("/api/users/invitation/accept", { token, password: NEW_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, message: expect.any(String) });
    expect(await userRow(id)).toMatchObject({ status: "active", email_verified: true });
    expect((await login("ivy@mail.test", NEW_PASSWORD)).statusCode).toBe(200);

    const again = await post("/api/users/invitation/accept", { token, password: NEW_PASSWORD });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(INVALID_LINK);
  });

  it("refuses a replaced invitation link and an expired one", async () => {
    const { id, token: first, admin } = await invite("reinvite@mail.test");
    const res = await post(`/api/users/${id}/invitation`, {}, admin.auth);
    expect(res.statusCode).toBe(200);
    const second = linkIn(await t.lastMailTo("reinvite@mail.test"), "/accept-invitation").token;

    const old = await (await t.callerFor()).users
      .acceptInvitation({ token: first, password: NEW_PASSWORD })
      .catch((error: unknown) => error);
    expect(old).toMatchObject({ code: "CONFLICT" });

    await t.db
      .updateTable("email_tokens")
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where("user_id", "=", id)
      .execute();
    const expired = await post("/api/users/invitation/accept", {
      token: second,
      password: NEW_PASSWORD,
    });
    expect(expired.statusCode).toBe(409);
    expect(await userRow(id)).toMatchObject({ status: "invited", password_hash: null });
  });

  it("refuses a user who is no longer invited", async () => {
    const { id, token } = await invite("no-longer@mail.test");
    await t.db.updateTable("users").set({ status: "suspended" }).where("id", "=", id).execute();
    const res = await post("/api/users/invitation/accept", { token, password: NEW_PASSWORD });
    expect(res.statusCode).toBe(409);
    expect(await userRow(id)).toMatchObject({ status: "suspended" });
  });
});

describe("POST /api/auth/password-reset", () => {
  it("answers known and unknown addresses with the same status and body", async () => {
    const user = await t.createUser({ email: "known@mail.test" });
    const known = await post("/api/auth/password-reset", { email: "known@mail.test" });
    const unknown = await post("/api/auth/password-reset", { email: "nobody@mail.test" });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    expect(known.json()).toEqual({
      success: true,
      message: "If the address belongs to an account, a reset link is on its way",
    });
    await t.worker.drainOnce();
    expect(t.smtp.to(user.email)).toHaveLength(1);
    expect(t.smtp.to("nobody@mail.test")).toHaveLength(0);
  });

  it("sends nothing to a suspended user, still with 202", async () => {
    const user = await t.createUser({ email: "suspended@mail.test", status: "suspended" });
    const res = await post("/api/auth/password-reset", { email: user.email });
    expect(res.statusCode).toBe(202);
    await t.worker.drainOnce();
    expect(t.smtp.to(user.email)).toHaveLength(0);
  });
});

describe("POST /api/auth/password-reset/confirm", () => {
  it("sets the new password once, ends every session, and the link then fails", async () => {
    const user = await t.createUser({ email: "reset-me@mail.test" });
    const session = await t.login(user);
    await post("/api/auth/password-reset", { email: user.email });
    const { token } = linkIn(await t.lastMailTo(user.email), "/reset-password");

    const weak = await post("/api/auth/password-reset/confirm", {
      token,
      newPassword: "123456789012345",
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({ code: "WEAK_PASSWORD" });

    const res = await post("/api/auth/password-reset/confirm", {
      token,
      newPassword: NEW_PASSWORD,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true });

    expect(
      (
        await t.app.inject({
          method: "GET",
          url: "/api/users/me",
          headers: { authorization: `Bearer ${session.accessToken}` },
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (await post("/api/auth/refresh", { refreshToken: session.refreshToken })).statusCode,
    ).toBe(401);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);

    const again = await post("/api/auth/password-reset/confirm", {
      token,
      newPassword: NEW_PASSWORD,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual(INVALID_LINK);
  });

  it("refuses a replaced reset link and an expired one", async () => {
    const user = await t.createUser({ email: "reset-twice@mail.test" });
    const caller = await t.callerFor();
    await caller.auth.passwordReset({ email: user.email });
    const first = linkIn(await t.lastMailTo(user.email), "/reset-password").token;
    await caller.auth.passwordReset({ email: user.email });
    const second = linkIn(await t.lastMailTo(user.email), "/reset-password").token;

    await expect(
      caller.auth.passwordResetConfirm({ token: first, newPassword: NEW_PASSWORD }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await t.db
      .updateTable("email_tokens")
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where("user_id", "=", user.id)
      .execute();
    await expect(
      caller.auth.passwordResetConfirm({ token: second, newPassword: NEW_PASSWORD }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
    });
    expect((await login(user.email, PASSWORD)).statusCode).toBe(200);
  });

  it("also verifies a pending user, who proved control of the mailbox", async () => {
    const { id } = await signup("pending-reset@mail.test");
    await post("/api/auth/password-reset", { email: "pending-reset@mail.test" });
    const { token } = linkIn(await t.lastMailTo("pending-reset@mail.test"), "/reset-password");
    await (await t.callerFor()).auth.passwordResetConfirm({ token, newPassword: NEW_PASSWORD });
    expect(await userRow(id)).toMatchObject({ status: "active", email_verified: true });
  });
});

describe("change of email", () => {
  it("mails the new address, changes only on confirm, notifies the old address, and login works with the new email", async () => {
    const user = await t.createUser({ email: "old-address@mail.test" });
    const caller = await t.callerFor(user);

    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/me/email",
      headers: { authorization: `Bearer ${(await t.login(user)).accessToken}` },
      payload: { newEmail: "new-address@mail.test", currentPassword: PASSWORD },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ success: true, message: expect.any(String) });
    expect((await userRow(user.id)).email).toBe("old-address@mail.test");

    const mail = await t.lastMailTo("new-address@mail.test");
    expect(mail.subject).toBe("Confirm your new email address");
    const { token, url } = linkIn(mail, "/verify-email");
    expect(url.startsWith(`${APP_URL}/verify-email?token=`)).toBe(true);
    expect(t.smtp.to("old-address@mail.test")).toHaveLength(0);

    await caller.users.confirmVerification({ token });
    expect(await userRow(user.id)).toMatchObject({
      email: "new-address@mail.test",
      email_verified: true,
    });

    const notice = await t.lastMailTo("old-address@mail.test");
    expect(notice.subject).toBe("Your email address was changed");
    expect(notice.text).toContain("n***@mail.test");
    expect(notice.text).not.toContain("token");
    expect(notice.text).not.toContain(APP_URL);

    expect((await login("new-address@mail.test", PASSWORD)).statusCode).toBe(200);
    expect((await login("old-address@mail.test", PASSWORD)).statusCode).toBe(401);
    const again = await post("/api/users/verification/confirm", { token });
    expect(again.statusCode).toBe(409);
  });

  it("needs the current password (403 INVALID_CURRENT_PASSWORD) and a free address (409 EMAIL_TAKEN)", async () => {
    const user = await t.createUser({ email: "mover@mail.test" });
    const other = await t.createUser({ email: "taken@mail.test" });
    const caller = await t.callerFor(user);
    await expect(
      caller.users.changeEmail({
        newEmail: "elsewhere@mail.test",
        currentPassword: "wrong password entirely",
      }),
    ).rejects.toMatchObject({ code: "FORBIDDEN", message: "The current password is incorrect" });
    const headers = { authorization: `Bearer ${(await t.login(user)).accessToken}` };
    const wrong = await post(
      "/api/users/me/email",
      { newEmail: "elsewhere@mail.test", currentPassword: "nope" },
      headers,
    );
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ code: "INVALID_CURRENT_PASSWORD" });
    const taken = await post(
      "/api/users/me/email",
      { newEmail: other.email.toUpperCase(), currentPassword: PASSWORD },
      headers,
    );
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ code: "EMAIL_TAKEN" });
    const anonymous = await post("/api/users/me/email", {
      newEmail: "x@mail.test",
      currentPassword: PASSWORD,
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it("gives 409 EMAIL_TAKEN at confirm when the address was taken meanwhile, and keeps the link usable", async () => {
    const user = await t.createUser({ email: "slow@mail.test" });
    await (await t.callerFor(user)).users.changeEmail({
      newEmail: "contested@mail.test",
      currentPassword: PASSWORD,
    });
    const { token } = linkIn(await t.lastMailTo("contested@mail.test"), "/verify-email");
    const squatter = await t.createUser({ email: "contested@mail.test" });

    const res = await post("/api/users/verification/confirm", { token });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "EMAIL_TAKEN" });
    expect((await userRow(user.id)).email).toBe("slow@mail.test");

    await t.db
      .updateTable("users")
      .set({ status: "deleted", deleted_at: sql`now()` })
      .where("id", "=", squatter.id)
      .execute();
    expect((await post("/api/users/verification/confirm", { token })).statusCode).toBe(200);
    expect((await userRow(user.id)).email).toBe("contested@mail.test");
  });

  it("ends links already mailed to the old address", async () => {
    const user = await t.createUser({ email: "leaky@mail.test" });
    await post("/api/auth/password-reset", { email: user.email });
    const reset = linkIn(await t.lastMailTo(user.email), "/reset-password").token;
    await (await t.callerFor(user)).users.changeEmail({
      newEmail: "fresh@mail.test",
      currentPassword: PASSWORD,
    });
    const { token } = linkIn(await t.lastMailTo("fresh@mail.test"), "/verify-email");
    expect((await post("/api/users/verification/confirm", { token })).statusCode).toBe(200);

    const res = await post("/api/auth/password-reset/confirm", {
      token: reset,
      newPassword: NEW_PASSWORD,
    });
    expect(res.statusCode).toBe(409);
  });
});
