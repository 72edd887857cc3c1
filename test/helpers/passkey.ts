import { expect } from "vitest";
import type { UserRow } from "../../db/users.ts";
import { type SoftAuthenticator, softAuthenticator } from "./soft-authenticator.ts";
import type { TestApp } from "./test-app.ts";

/** Registers a passkey on a new software authenticator through the REST door. */
export async function registerSoftPasskey(
  t: TestApp,
  auth: { authorization: string },
): Promise<{ device: SoftAuthenticator; passkeyId: number }> {
  const device = softAuthenticator(t.config.APP_URL);
  const options = await t.app.inject({
    method: "POST",
    url: "/api/users/me/passkeys/registration-options",
    headers: auth,
  });
  const res = await t.app.inject({
    method: "POST",
    url: "/api/users/me/passkeys",
    payload: { webauthn: device.create(options.json()), name: "Test key" },
    headers: auth,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { device, passkeyId: res.json().id };
}

/**
 * A new session of the user whose sign-in is `seconds` old (older than STEP_UP_SECONDS by
 * default), and its refreshed access token that says so.
 */
export async function agedAccessToken(t: TestApp, user: UserRow, seconds = 600): Promise<string> {
  const pair = await t.login(user);
  await t.db
    .updateTable("sessions")
    .set({ authenticated_at: new Date(Date.now() - seconds * 1000) })
    .where("user_id", "=", user.id)
    .execute();
  const refreshed = await t.app.inject({
    method: "POST",
    url: "/api/auth/refresh",
    payload: { refreshToken: pair.refreshToken },
  });
  expect(refreshed.statusCode, refreshed.body).toBe(200);
  return refreshed.json().accessToken;
}
