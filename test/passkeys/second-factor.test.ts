import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countPasskeys,
  createPasskeyAssertionOptions,
  deleteUserPasskeys,
  verifyPasskeyAssertion,
} from "../../server/auth/passkeys/index.ts";
import { expectError } from "../helpers/expect-error.ts";
import { registerSoftPasskey } from "../helpers/passkey.ts";
import type { SoftAuthenticator } from "../helpers/soft-authenticator.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

// The interface the two-step sign-in (issue 21, mfa) calls: options and a check for a known user.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** A user with one passkey on a software authenticator. */
async function userWithPasskey() {
  const { user, auth } = await t.userWithToken();
  const { device } = await registerSoftPasskey(t, auth);
  return { user, device, credentialId: device.get({ challenge: "AAAA" }).id };
}

const options = (userId?: number) => createPasskeyAssertionOptions(t.db, t.config, userId);
const verify = (userId: number, response: ReturnType<SoftAuthenticator["get"]>) =>
  verifyPasskeyAssertion(t.db, t.config, { userId, response });
const refused = { apiCode: "INVALID_CREDENTIALS" };

describe("a passkey as the second factor of a known user", () => {
  it("counts the user's passkeys and allows only theirs", async () => {
    const { user, credentialId } = await userWithPasskey();
    expect(await countPasskeys(t.db, user.id)).toBe(1);
    expect(await countPasskeys(t.db, (await t.createUser()).id)).toBe(0);
    const offered = await options(user.id);
    expect(offered.allowCredentials).toEqual([
      { id: credentialId, type: "public-key", transports: ["internal"] },
    ]);
    expect(offered.userVerification).toBe("preferred");
  });

  it("accepts the user's assertion once", async () => {
    const { user, device, credentialId } = await userWithPasskey();
    const assertion = device.get(await options(user.id));
    expect(await verify(user.id, assertion)).toEqual({ credentialId });
    await expect(verify(user.id, assertion)).rejects.toMatchObject(refused);
  });

  it("refuses another user's passkey, and a challenge issued for another user", async () => {
    const alice = await userWithPasskey();
    const bob = await userWithPasskey();
    await expect(
      verify(alice.user.id, bob.device.get(await options(alice.user.id))),
    ).rejects.toMatchObject(refused);
    await expect(
      verify(alice.user.id, alice.device.get(await options(bob.user.id))),
    ).rejects.toMatchObject(refused);
  });

  it("keeps the two kinds of challenge apart", async () => {
    const { user, device } = await userWithPasskey();
    // A sign-in challenge is no second factor …
    await expect(verify(user.id, device.get(await options()))).rejects.toMatchObject(refused);
    // … and a second-factor challenge signs nobody in alone.
    const res = await t.app.inject({
      method: "POST",
      url: "/api/auth/passkey/token",
      payload: { webauthn: device.get(await options(user.id)) },
    });
    expectError(res, 401, "INVALID_CREDENTIALS");
  });

  it("removes all of a user's passkeys (an admin's reset), and no one else's", async () => {
    const { user, device } = await userWithPasskey();
    const other = await userWithPasskey();
    expect(await deleteUserPasskeys(t.db, user.id)).toBe(1);
    expect(await countPasskeys(t.db, user.id)).toBe(0);
    expect(await countPasskeys(t.db, other.user.id)).toBe(1);
    await expect(verify(user.id, device.get(await options(user.id)))).rejects.toMatchObject(
      refused,
    );
  });

  it("refuses an expired challenge", async () => {
    const { user, device } = await userWithPasskey();
    const offered = await options(user.id);
    await t.db
      .updateTable("webauthn_challenges")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", user.id)
      .execute();
    await expect(verify(user.id, device.get(offered))).rejects.toMatchObject(refused);
  });
});
