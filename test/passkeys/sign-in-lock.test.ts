import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../helpers/expect-error.ts";
import { softAuthenticator } from "../helpers/soft-authenticator.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// Passkey sign-in shares the login lock with passwords: per account and client address.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT: "on",
    LOGIN_LOCK_AFTER_FAILURES: "3",
    LOGIN_LIMIT_PER_IP: "30",
  });
});
afterAll(() => t.close());

const from = (remoteAddress: string) => ({
  signInOptions: async () =>
    (
      await t.app.inject({ method: "POST", url: "/api/auth/passkey/options", remoteAddress })
    ).json(),
  signIn: (webauthn: unknown) =>
    t.app.inject({
      method: "POST",
      url: "/api/auth/passkey/token",
      payload: { webauthn },
      remoteAddress,
    }),
  login: (email: string) =>
    t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email, password: PASSWORD },
      remoteAddress,
    }),
});

describe("the login lock", () => {
  it("counts failed assertions against the account from that address, and locks passwords too", async () => {
    const { user, auth } = await t.userWithToken();
    const device = softAuthenticator(t.config.APP_URL);
    const options = await t.app.inject({
      method: "POST",
      url: "/api/users/me/passkeys/registration-options",
      headers: auth,
    });
    const registered = await t.app.inject({
      method: "POST",
      url: "/api/users/me/passkeys",
      payload: { webauthn: device.create(options.json()) },
      headers: auth,
    });
    expect(registered.statusCode).toBe(201);

    const guesser = from("198.51.100.7");
    // A success clears the address's failures.
    expectError(
      await guesser.signIn({
        ...device.get(await guesser.signInOptions()),
        id: "AAAA",
        rawId: "AAAA",
      }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect((await guesser.signIn(device.get(await guesser.signInOptions()))).statusCode).toBe(200);

    for (let i = 0; i < 3; i += 1) {
      const assertion = device.get(await guesser.signInOptions());
      const signature = Buffer.from(assertion.response.signature, "base64url");
      signature.writeUInt8(signature.readUInt8(8) ^ 1, 8);
      const res = await guesser.signIn({
        ...assertion,
        response: { ...assertion.response, signature: signature.toString("base64url") },
      });
      expectError(res, 401, "INVALID_CREDENTIALS");
    }
    // Locked from this address: a valid passkey and the right password are refused alike …
    expectError(
      await guesser.signIn(device.get(await guesser.signInOptions())),
      401,
      "INVALID_CREDENTIALS",
    );
    expectError(await guesser.login(user.email), 401, "INVALID_CREDENTIALS");
    // … while the owner, elsewhere, signs in either way.
    const owner = from("203.0.113.20");
    expect((await owner.signIn(device.get(await owner.signInOptions()))).statusCode).toBe(200);
    expect((await owner.login(user.email)).statusCode).toBe(200);
  });

  it("limits passkey ceremonies per address with the login limit (429, Retry-After)", async () => {
    const remoteAddress = "192.0.2.44";
    const options = () =>
      t.app.inject({ method: "POST", url: "/api/auth/passkey/options", remoteAddress });
    for (let i = 0; i < 30; i += 1) expect((await options()).statusCode).toBe(200);
    const limited = await options();
    expectError(limited, 429, "RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // The same budget as password logins from that address.
    const login = await t.app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: "nobody@example.com", password: PASSWORD },
      remoteAddress,
    });
    expectError(login, 429, "RATE_LIMITED");
  });
});
