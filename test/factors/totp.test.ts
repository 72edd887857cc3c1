import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base32, hotp, matchingStep } from "../../server/auth/second-factor/totp.ts";
import { checkTotpCode } from "../../server/auth/second-factor/totp-factor.ts";
import { createContext } from "../../server/context.ts";
import { expectError } from "../helpers/expect-error.ts";
import {
  atTime,
  authenticator,
  enrolTotp,
  forgetUsedSteps,
  midStep,
  STEP_MS,
} from "../helpers/second-factor.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("RFC 6238 codes (node:crypto) agree with the otpauth package", () => {
  it("matches RFC 6238's SHA-1 test vectors and otpauth's codes over many steps", () => {
    // RFC 6238 appendix B: the secret "12345678901234567890", 8 digits there; 6 are its tail.
    const secret = Buffer.from("12345678901234567890");
    expect(hotp(secret, Math.floor(59 / 30))).toBe("287082");
    expect(hotp(secret, Math.floor(1111111109 / 30))).toBe("081804");
    expect(hotp(secret, Math.floor(2000000000 / 30))).toBe("279037");
    const otp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(base32(secret)) });
    for (let step = 59_000_000; step < 59_000_200; step++) {
      expect(hotp(secret, step)).toBe(otp.generate({ timestamp: step * STEP_MS }));
    }
  });

  it("accepts ±1 step of skew and refuses ±2, and anything not six digits", () => {
    const secret = Buffer.from("12345678901234567890");
    const now = midStep();
    const otp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(base32(secret)) });
    const at = (steps: number) => otp.generate({ timestamp: now + steps * STEP_MS });
    const step = Math.floor(now / STEP_MS);
    expect(matchingStep(secret, at(0), now)).toBe(step);
    expect(matchingStep(secret, at(-1), now)).toBe(step - 1);
    expect(matchingStep(secret, at(1), now)).toBe(step + 1);
    for (const far of [-2, 2, -3, 3]) {
      // A far code equal to a near one by chance would be accepted rightly; skip that step.
      if ([-1, 0, 1].some((near) => at(near) === at(far))) continue;
      expect(matchingStep(secret, at(far), now)).toBeUndefined();
    }
    for (const bad of ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"]) {
      expect(matchingStep(secret, bad, now)).toBeUndefined();
    }
  });
});

describe("enrolment", () => {
  it("shows the secret and URI once, stores the secret encrypted, and confirms with a first code", async () => {
    const user = await t.createUser();
    const { auth } = { auth: { authorization: `Bearer ${(await t.login(user)).accessToken}` } };
    const started = await t.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp",
      headers: auth,
    });
    expect(started.statusCode).toBe(201);
    const { secret, otpauthUri } = started.json();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const app = authenticator(otpauthUri);
    expect(app.totp.secret.base32).toBe(secret);
    expect(app.totp.label).toBe(user.email);
    expect(app.totp.digits).toBe(6);
    expect(app.totp.period).toBe(30);

    const row = await t.db
      .selectFrom("totp_factors")
      .selectAll()
      .where("user_id", "=", user.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_ciphertext).toMatch(/^v1\./);
    expect(row.secret_ciphertext).not.toContain(secret);
    expect(row.secret_ciphertext).not.toContain(
      Buffer.from(app.totp.secret.bytes).toString("base64url"),
    );
    expect(row.confirmed_at).toBeNull();

    // Not a factor until confirmed: the listing is empty and sign-in asks for nothing.
    const listed = await t.app.inject({
      method: "GET",
      url: "/api/users/me/factors",
      headers: auth,
    });
    expect(listed.json()).toEqual({ factors: [] });

    const wrong = await t.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp/confirm",
      headers: auth,
      payload: { code: app.code() === "000000" ? "000001" : "000000" },
    });
    expectError(wrong, 401, "INVALID_SECOND_FACTOR");
    const confirmed = await t.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp/confirm",
      headers: auth,
      payload: { code: app.code() },
    });
    expect(confirmed.statusCode).toBe(200);
    const { recoveryCodes } = confirmed.json();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);

    const after = await t.app.inject({
      method: "GET",
      url: "/api/users/me/factors",
      headers: auth,
    });
    expect(after.body).not.toContain(secret);
    expect(after.json().factors.map((f: { kind: string }) => f.kind)).toEqual([
      "totp",
      "recovery_code",
    ]);
    expect(after.json().factors[1].remaining).toBe(10);

    // Never shown again: a second enrolment is refused while this one stands.
    const again = await t.app.inject({
      method: "POST",
      url: "/api/users/me/factors/totp",
      headers: auth,
    });
    expectError(again, 409, "CONFLICT");
    const codes = await t.db
      .selectFrom("recovery_codes")
      .select("code_hash")
      .where("user_id", "=", user.id)
      .execute();
    expect(codes).toHaveLength(10);
    for (const { code_hash } of codes) expect(recoveryCodes).not.toContain(code_hash);
  });

  it("a secret copied to another user's row does not open (bound to its user)", async () => {
    const [a, b] = [await t.createUser(), await t.createUser()];
    const enrolledA = await enrolTotp(t, a);
    await enrolTotp(t, b);
    const rowA = await t.db
      .selectFrom("totp_factors")
      .select("secret_ciphertext")
      .where("user_id", "=", a.id)
      .executeTakeFirstOrThrow();
    await t.db
      .updateTable("totp_factors")
      .set({ secret_ciphertext: rowA.secret_ciphertext, last_used_step: null })
      .where("user_id", "=", b.id)
      .execute();
    const ctx = createContext(t.deps);
    expect(await checkTotpCode(ctx, b.id, enrolledA.app.code())).toBe(false);
  });
});

describe("verification through the service", () => {
  it("±1 step passes, ±2 does not; each step works once, and no older step after it", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const ctx = createContext(t.deps);
    const now = midStep();
    const check = (steps: number) => checkTotpCode(ctx, user.id, app.codeAt(now + steps * STEP_MS));
    await atTime(now, async () => {
      await forgetUsedSteps(t, user.id);
      expect(await check(-2)).toBe(false);
      expect(await check(-1)).toBe(true);
      expect(await check(-1)).toBe(false); // replay
      expect(await check(0)).toBe(true);
      expect(await check(0)).toBe(false); // replay
      expect(await check(-1)).toBe(false); // an older step after a newer one
      expect(await check(2)).toBe(false);
      expect(await check(1)).toBe(true);
      expect(await check(1)).toBe(false);
      // Typed as the app shows it, with a space in the middle.
      await forgetUsedSteps(t, user.id);
      const shown = app.codeAt(now);
      expect(await checkTotpCode(ctx, user.id, `${shown.slice(0, 3)} ${shown.slice(3)}`)).toBe(
        true,
      );
    });
  });

  it("one code raced by 8 concurrent checks: exactly one passes, in each of 15 rounds", async () => {
    const user = await t.createUser();
    const { app } = await enrolTotp(t, user);
    const ctx = createContext(t.deps);
    for (let round = 0; round < 15; round++) {
      await forgetUsedSteps(t, user.id);
      const code = app.code();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => checkTotpCode(ctx, user.id, code)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });
});
