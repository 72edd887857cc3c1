import { hash } from "@node-rs/argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { ZUser } from "../../routers/users/user-schema.ts";
import { ZApiErrorBody } from "../../server/errors/api-errors.ts";
import { ARGON2_OPTIONS, needsRehash } from "../../server/passwords/hash.ts";
import { expectInvalidCredentials, SECRETS } from "../helpers/expect-error.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const login = (email: string, password: string) =>
  t.app.inject({ method: "POST", url: "/api/auth/token", payload: { email, password } });

const me = (accessToken: string) =>
  t.app.inject({
    method: "GET",
    url: "/api/users/me",
    headers: { authorization: `Bearer ${accessToken}` },
  });

/** Fullwidth forms (U+FF01..U+FF5E) of printable ASCII; NFKC maps them back. */
const fullwidth = (text: string) =>
  [...text]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      return code >= 0x21 && code <= 0x7e ? String.fromCharCode(code + 0xfee0) : ch;
    })
    .join("");

const storedHash = async (id: number) =>
  (
    await t.db
      .selectFrom("users")
      .select("password_hash")
      .where("id", "=", id)
      .executeTakeFirstOrThrow()
  ).password_hash;

describe("POST /api/auth/token", () => {
  it("logs in: a Bearer pair with expiresIn 900, and lastLoginAt is set afterwards", async () => {
    const user = await t.createUser();
    expect(user.last_login_at).toBeNull();
    const before = Date.now();

    const res = await login(user.email, PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(SECRETS);
    const pair = ZTokenPair.strict().parse(res.json());
    expect(pair.tokenType).toBe("Bearer");
    expect(pair.expiresIn).toBe(900);
    expect(pair.accessToken.split(".")).toHaveLength(3);
    expect(pair.refreshToken.length).toBeGreaterThanOrEqual(32);

    const who = await me(pair.accessToken);
    expect(who.statusCode).toBe(200);
    const profile = ZUser.strict().parse(who.json());
    expect(profile.id).toBe(user.id);
    expect(profile.lastLoginAt).not.toBeNull();
    expect(Date.parse(profile.lastLoginAt as string)).toBeGreaterThanOrEqual(before - 5_000);
  });

  it("matches the email case-insensitively and trims it", async () => {
    const user = await t.createUser({ email: "Mixed.Case@Example.com" });
    const res = await login("  mixed.case@EXAMPLE.com ", PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(ZTokenPair.parse(res.json()).accessToken).toBeTruthy();
    expect((await me(res.json().accessToken)).json().id).toBe(user.id);
  });

  it("answers a wrong password and an unknown email with the identical 401 body", async () => {
    const user = await t.createUser();
    const wrong = expectInvalidCredentials(await login(user.email, `${PASSWORD}-nope`));
    const unknown = expectInvalidCredentials(
      await login("nobody-at-all@example.com", `${PASSWORD}-nope`),
    );
    expect(unknown).toBe(wrong);
    // No login happened.
    const row = await t.db
      .selectFrom("users")
      .select("last_login_at")
      .where("id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect(row.last_login_at).toBeNull();
  });

  it("gives suspended and deleted users the same 401, even with the right password", async () => {
    const reference = expectInvalidCredentials(await login("ghost@example.com", PASSWORD));

    const suspended = await t.createUser({ status: "suspended" });
    expect(expectInvalidCredentials(await login(suspended.email, PASSWORD))).toBe(reference);

    const admin = await t.createUser({ role: "AppAdmin" });
    const doomed = await t.createUser();
    await (await t.callerFor(admin)).users.delete({ id: doomed.id });
    expect(expectInvalidCredentials(await login(doomed.email, PASSWORD))).toBe(reference);
  });

  it("refuses an invited user who has no password yet with the same 401", async () => {
    const admin = await t.createUser({ role: "Admin" });
    const created = await (await t.callerFor(admin)).users.create({
      email: "invitee@example.com",
      firstName: "In",
      lastName: "Vitee",
    });
    expect(created.status).toBe("invited");
    expect(await storedHash(created.id)).toBeNull();
    const reference = expectInvalidCredentials(await login("ghost2@example.com", PASSWORD));
    expect(expectInvalidCredentials(await login("invitee@example.com", PASSWORD))).toBe(reference);
    expect(expectInvalidCredentials(await login("invitee@example.com", "x"))).toBe(reference);
  });

  it("normalises NFKC: a password set in fullwidth letters logs in with ASCII and back", async () => {
    const user = await t.createUser();
    const ascii = "amber-glacier-notebook-42-tundra";
    const wide = fullwidth(ascii);
    expect(wide).not.toBe(ascii);
    expect(wide.normalize("NFKC")).toBe(ascii);

    const caller = await t.callerFor(user);
    await caller.users.setOwnPassword({ currentPassword: PASSWORD, newPassword: wide });

    const res = await login(user.email, ascii);
    expect(res.statusCode).toBe(200);
    const again = await login(user.email, wide);
    expect(again.statusCode).toBe(200);
    expectInvalidCredentials(await login(user.email, PASSWORD));
  });

  it("accepts a hash with weaker argon2 parameters and upgrades it at login", async () => {
    const user = await t.createUser();
    const weak = await hash(PASSWORD, {
      memoryCost: 4096,
      timeCost: 1,
      algorithm: ARGON2_OPTIONS.algorithm,
    });
    expect(needsRehash(weak)).toBe(true);
    await t.db
      .updateTable("users")
      .set({ password_hash: weak })
      .where("id", "=", user.id)
      .execute();

    const res = await login(user.email, PASSWORD);
    expect(res.statusCode).toBe(200);

    const upgraded = await storedHash(user.id);
    expect(upgraded).not.toBe(weak);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(needsRehash(upgraded as string)).toBe(false);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(200);
    expectInvalidCredentials(await login(user.email, "not-the-password-at-all-42"));
  });

  it("refuses unknown fields and missing fields with 400 VALIDATION_ERROR", async () => {
    const user = await t.createUser();
    for (const payload of [
      { email: user.email, password: PASSWORD, role: "AppAdmin" },
      { email: user.email },
      { email: "not-an-email", password: PASSWORD },
    ]) {
      const res = await t.app.inject({ method: "POST", url: "/api/auth/token", payload });
      expect(res.statusCode).toBe(400);
      const body = ZApiErrorBody.strict().parse(res.json());
      expect(body.code).toBe("VALIDATION_ERROR");
      expect(body.issues?.length).toBeGreaterThan(0);
    }
  });
});

describe("auth.token over tRPC", () => {
  it("logs in through the caller and throws INVALID_CREDENTIALS alike for both mistakes", async () => {
    const user = await t.createUser();
    const anonymous = await t.callerFor();
    const pair = await anonymous.auth.token({ email: user.email, password: PASSWORD });
    expect(ZTokenPair.strict().parse(pair).expiresIn).toBe(900);

    const wrong = anonymous.auth.token({ email: user.email, password: "wrong-password-123456" });
    await expect(wrong).rejects.toMatchObject({
      apiCode: "INVALID_CREDENTIALS",
      code: "UNAUTHORIZED",
    });
    const unknown = anonymous.auth.token({
      email: "unknown-person@example.com",
      password: "wrong-password-123456",
    });
    await expect(unknown).rejects.toMatchObject({
      apiCode: "INVALID_CREDENTIALS",
      message: "The email or password is incorrect",
    });
  });

  it("answers natively at POST /trpc/auth.token, errors with error.data.code", async () => {
    const user = await t.createUser();
    const ok = await t.app.inject({
      method: "POST",
      url: "/trpc/auth.token",
      payload: { email: user.email, password: PASSWORD },
    });
    expect(ok.statusCode).toBe(200);
    expect(ZTokenPair.strict().parse(ok.json().result.data).tokenType).toBe("Bearer");

    const bad = await t.app.inject({
      method: "POST",
      url: "/trpc/auth.token",
      payload: { email: user.email, password: "wrong-password-123456" },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.data.code).toBe("INVALID_CREDENTIALS");
    expect(bad.body).not.toMatch(SECRETS);
    expect(bad.body).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
