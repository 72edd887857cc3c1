/**
 * Second-factor secrets never reach a log line, at any level: the TOTP secret and its URI, its
 * ciphertext, the recovery codes and the sign-in challenge, through enrolment, sign-in (right and
 * wrong codes) and step-up, on both doors.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../server/app.ts";
import type { Config } from "../../server/config.ts";
import { buildDeps } from "../../server/deps.ts";
import { LOG_REDACT } from "../../server/log-format.ts";
import { authenticator } from "../helpers/second-factor.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  // A fixed secret, so the logging service below accepts this one's tokens and opens its boxes.
  t = await createTestApp({ JWT_SECRET: "factor-log-secrecy-secret-0123456789abcdef" });
});
afterAll(() => t.close());

describe("second-factor secrets in the logs", () => {
  it("none of them appears in any line at trace level", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        callback();
      },
    });
    const config: Config = { ...t.config, LOG_LEVEL: "trace" };
    const app = await buildApp(
      await buildDeps(config, { db: t.db, logger: { level: "trace", stream, redact: LOG_REDACT } }),
    );
    try {
      const user = await t.createUser();
      const auth = { authorization: `Bearer ${(await t.login(user)).accessToken}` };
      const started = await app.inject({
        method: "POST",
        url: "/api/users/me/factors/totp",
        headers: auth,
      });
      expect(started.statusCode, started.body).toBe(201);
      const { secret, otpauthUri } = started.json();
      const phone = authenticator(otpauthUri);
      const confirmed = await app.inject({
        method: "POST",
        url: "/trpc/factors.confirmTotp",
        headers: auth,
        payload: { code: phone.code() },
      });
      const recoveryCodes: string[] = confirmed.json().result.data.recoveryCodes;
      const signIn = await app.inject({
        method: "POST",
        url: "/api/auth/token",
        payload: { email: user.email, password: PASSWORD },
      });
      const { challenge } = signIn.json();
      for (const code of ["000000", recoveryCodes[0] as string]) {
        await app.inject({
          method: "POST",
          url: "/api/auth/token/second-factor",
          payload: { challenge, factor: code.length === 6 ? "totp" : "recovery_code", code },
        });
      }
      await app.inject({
        method: "POST",
        url: "/trpc/auth.stepUp",
        headers: auth,
        payload: { factor: "recovery_code", code: recoveryCodes[1] },
      });
      const { secret_ciphertext } = await t.db
        .selectFrom("totp_factors")
        .select("secret_ciphertext")
        .where("user_id", "=", user.id)
        .executeTakeFirstOrThrow();

      const log = lines.join("\n");
      // Every request was logged (so there was something to leak into).
      expect(lines.filter((line) => line.includes('"msg":"request"'))).toHaveLength(6);
      expect(log).toContain("INVALID_SECOND_FACTOR"); // the wrong code's refusal, logged
      for (const value of [secret, otpauthUri, secret_ciphertext, challenge, ...recoveryCodes]) {
        expect(log).not.toContain(value);
      }
    } finally {
      await app.close();
    }
  });
});
