import type { CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPasskeyAssertionOptions,
  verifyPasskeyAssertion,
  ZAuthenticationResponse,
} from "../../server/auth/passkeys/index.ts";
import { PASSWORD } from "../helpers/test-app.ts";
import { type E2eBrowser, type E2eServer, launchBrowser, startE2eServer } from "./harness.ts";

// Passkeys in Chromium with the DevTools protocol's virtual authenticator (a platform
// authenticator with user verification), driven through the /passkeys page.

let server: E2eServer;
let browser: E2eBrowser;

beforeAll(async () => {
  // WebAuthn refuses an IP address as the relying party: the origin is http://localhost:<port>.
  server = await startE2eServer({}, { hostName: "localhost" });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Authenticator = { cdp: CDPSession; authenticatorId: string };

/** A tab on /passkeys with a virtual passkey authenticator of its own. */
async function openPasskeysPage() {
  const page = await browser.newPage();
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${server.origin}/passkeys`);
  return { page, authenticator: { cdp, authenticatorId } };
}

const credentialsIn = async ({ cdp, authenticatorId }: Authenticator) =>
  (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;

async function signInWithPassword(page: Page, email: string) {
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await signedInAs(page, email);
}

async function addPasskey(page: Page, name: string) {
  await page.getByLabel("Name of the new passkey").fill(name);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.getByRole("button", { name: `Remove ${name}` }).waitFor();
}

async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "You are signed out" }).waitFor();
}

async function signInWithPasskey(page: Page) {
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
}

/** Waits for the signed-in part of the page, showing `email`. */
async function signedInAs(page: Page, email: string) {
  await page.locator("#signed-in").waitFor();
  expect(await page.locator("#account-email").textContent()).toBe(email);
}

const storedPasskeys = (userId: number) =>
  server.t.db
    .selectFrom("passkeys")
    .select(["name", "counter", "last_used_at"])
    .where("user_id", "=", userId)
    .execute();

describe("passkeys in Chromium", () => {
  it("registers a passkey, signs in with it alone, and removes it", async () => {
    const user = await server.t.createUser();
    const { page, authenticator } = await openPasskeysPage();
    await signInWithPassword(page, user.email);
    await expect.poll(() => page.locator("#no-passkeys").isVisible()).toBe(true);

    await addPasskey(page, "Chromium key");
    const [credential, ...others] = await credentialsIn(authenticator);
    expect(others).toEqual([]);
    expect(credential?.isResidentCredential).toBe(true);
    expect(await storedPasskeys(user.id)).toMatchObject([
      { name: "Chromium key", last_used_at: null },
    ]);

    await signOut(page);
    await signInWithPasskey(page);
    await signedInAs(page, user.email);
    const [used] = await storedPasskeys(user.id);
    expect(used?.last_used_at).not.toBeNull();
    await expect.poll(() => page.locator(".passkey").textContent()).toContain("last used");
    await browser.screenshot(page, "passkeys-signed-in");

    await page.getByRole("button", { name: "Remove Chromium key" }).click();
    await expect.poll(() => page.locator("#no-passkeys").isVisible()).toBe(true);
    expect(await storedPasskeys(user.id)).toEqual([]);

    // The authenticator still holds the credential; the service no longer knows it.
    await signOut(page);
    await signInWithPasskey(page);
    await page.getByRole("heading", { name: "This passkey was not accepted" }).waitFor();
    expect(await page.locator("#signed-in").isHidden()).toBe(true);
    expect(page.problems.filter((p) => !p.includes("401"))).toEqual([]);
    await page.close();
  });

  it("refuses a clone of the authenticator whose sign counter went back", async () => {
    const user = await server.t.createUser();
    const { page, authenticator } = await openPasskeysPage();
    await signInWithPassword(page, user.email);
    await addPasskey(page, "Cloned key");
    const [snapshot] = await credentialsIn(authenticator);
    if (!snapshot) throw new Error("no credential in the virtual authenticator");

    for (let i = 0; i < 2; i += 1) {
      await signOut(page);
      await signInWithPasskey(page);
      await signedInAs(page, user.email);
    }
    const [before] = await storedPasskeys(user.id);
    expect(Number(before?.counter)).toBeGreaterThan(snapshot.signCount);

    // Put the credential back as it was at registration: its next counter is an old one.
    const { cdp, authenticatorId } = authenticator;
    await cdp.send("WebAuthn.clearCredentials", { authenticatorId });
    await cdp.send("WebAuthn.addCredential", { authenticatorId, credential: snapshot });
    await signOut(page);
    await signInWithPasskey(page);
    await page.getByRole("heading", { name: "This passkey was not accepted" }).waitFor();
    const [after] = await storedPasskeys(user.id);
    expect(after?.counter).toEqual(before?.counter);
    await page.close();
  });

  it("signs in with the password and then a passkey as the second factor", async () => {
    const user = await server.t.createUser();
    const { page } = await openPasskeysPage();
    await signInWithPassword(page, user.email);
    await addPasskey(page, "Second step key");
    await signOut(page);

    // The password now answers a challenge; the page answers it with the passkey.
    await signInWithPassword(page, user.email);
    const [used] = await storedPasskeys(user.id);
    expect(used?.last_used_at).not.toBeNull();
    const challenges = await server.t.db
      .selectFrom("second_factor_challenges")
      .select("used_at")
      .where("user_id", "=", user.id)
      .execute();
    expect(challenges).toHaveLength(1);
    expect(challenges[0]?.used_at).not.toBeNull();

    // A fresh sign-in is recent enough to remove it; then the password alone signs in again.
    await page.getByRole("button", { name: "Remove Second step key" }).click();
    await expect.poll(() => page.locator("#no-passkeys").isVisible()).toBe(true);
    await signOut(page);
    await signInWithPassword(page, user.email);
    expect(page.problems).toEqual([]);
    await page.close();
  });

  it("answers a second-factor challenge for a known user (the two-step sign-in's check)", async () => {
    const user = await server.t.createUser();
    const { page } = await openPasskeysPage();
    await signInWithPassword(page, user.email);
    await addPasskey(page, "Second factor");

    const { db, config } = server.t;
    const options = await createPasskeyAssertionOptions(db, config, user.id);
    // The page's own origin asks the browser, as the two-step sign-in's screen will (a string:
    // this file is compiled without the DOM's types).
    const assertion: unknown = await page.evaluate(`(async () => {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(${JSON.stringify(options)});
      return (await navigator.credentials.get({ publicKey })).toJSON();
    })()`);
    const response = ZAuthenticationResponse.parse(assertion);
    const verified = await verifyPasskeyAssertion(db, config, { userId: user.id, response });
    expect(verified.credentialId).toBe(response.id);
    // Single use.
    await expect(
      verifyPasskeyAssertion(db, config, { userId: user.id, response }),
    ).rejects.toMatchObject({
      apiCode: "INVALID_CREDENTIALS",
    });
    await page.close();
  });
});
