import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleE2e, signIn, startConsoleE2e } from "./console-harness.ts";

// The console's second step with a passkey, in Chromium's virtual authenticator (WebAuthn needs
// a host name: the origin is http://localhost:<port>).

let e2e: ConsoleE2e;
beforeAll(async () => {
  e2e = await startConsoleE2e({}, { hostName: "localhost" });
});
afterAll(async () => {
  await e2e?.close();
});

describe("an Admin whose second factor is a passkey", () => {
  it("signs in to the console with the password, then the passkey", async () => {
    const { t, origin } = e2e.server;
    const admin = await t.createUser({ role: "Admin", email: "pia.passkey@example.com" });
    const page = await e2e.browser.newPage();
    const cdp = await e2e.browser.context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${origin}/admin`);
    // Registered by the page's own origin through the API, as /passkeys does (a string: this
    // file is compiled without the DOM's types).
    const { accessToken } = await t.login(admin);
    const registered = await page.evaluate(`(async () => {
      const headers = { authorization: "Bearer ${accessToken}", "content-type": "application/json" };
      const url = "/api/users/me/passkeys";
      const options = await (await fetch(url + "/registration-options", { method: "POST", headers, body: "{}" })).json();
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
      const credential = await navigator.credentials.create({ publicKey });
      const body = JSON.stringify({ name: "Console key", webauthn: credential.toJSON() });
      return (await fetch(url, { method: "POST", headers, body })).status;
    })()`);
    expect(registered).toBe(201);

    await signIn(page, origin, admin.email);
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    const [passkey] = await t.db
      .selectFrom("passkeys")
      .select("last_used_at")
      .where("user_id", "=", admin.id)
      .execute();
    expect(passkey?.last_used_at).not.toBeNull();
    await page.close();
  });
});
