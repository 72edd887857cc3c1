import { expect } from "vitest";
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
