import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { PASSWORD } from "../helpers/test-app.ts";
import { type E2eBrowser, type E2eServer, launchBrowser, startE2eServer } from "./harness.ts";

// The landing pages mails link to, driven in Chromium the way a person uses them.

const STRONG = "copper-meadow-violin-47-sunrise";
const STRONGER = "quiet-orbit-maple-93-harbor-lamp";
const WEAK = "passwordpassword";
const SIGN_IN_URL = "https://app.example.test/sign-in";

let server: E2eServer;
let browser: E2eBrowser;

beforeAll(async () => {
  server = await startE2eServer({ SIGN_IN_URL });
  browser = await launchBrowser();
});

/** The next step a success (or used-link) notice offers: the sign-in link from the settings. */
const signInLink = (page: Page) => page.getByRole("link", { name: "Sign in" });

/** The stored state of a link's token, to show a page left it alone. */
const tokenRow = (link: string) =>
  server.t.db
    .selectFrom("email_tokens")
    .select(["expires_at", "used_at"])
    .where("token_hash", "=", hashToken(new URL(link).searchParams.get("token") as string))
    .executeTakeFirstOrThrow();

/** The account a password form saves under, and what the person sees of it. */
async function accountOf(page: Page) {
  const username = page.locator("#username");
  return {
    username: await username.inputValue(),
    autocomplete: await username.getAttribute("autocomplete"),
    hidden: await username.isHidden(),
    shown: await page.locator("#account").textContent(),
  };
}

/** Creates an invited user through the API and returns the link in their invitation mail. */
async function invite(email: string, firstName: string) {
  const admin = await server.t.userWithToken({ role: "Admin" });
  const created = await server.api(
    "POST",
    "/api/users",
    { email, firstName, lastName: "Invited" },
    admin.accessToken,
  );
  expect(created.status).toBe(201);
  return {
    id: Number(created.body.id),
    link: await server.linkInMail(email, "/accept-invitation"),
    admin,
  };
}
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("/verify-email", () => {
  it("confirms a signup only when the button is pressed, then the account is active", async () => {
    const email = "vera.verify@example.com";
    const signup = await server.api("POST", "/api/users/signup", {
      email,
      password: PASSWORD,
      firstName: "Vera",
      lastName: "Verify",
    });
    expect(signup.status).toBe(201);
    const link = await server.linkInMail(email, "/verify-email");

    const page = await browser.newPage();
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
    const button = page.getByRole("button", { name: "Confirm my email" });
    await expect.poll(() => button.isVisible()).toBe(true);
    await browser.screenshot(page, "verify-email");

    // Opening the link (as a mail scanner would) changed nothing.
    expect((await server.me(email, PASSWORD)).user).toMatchObject({
      status: "pending",
      emailVerified: false,
    });

    // Without a mouse: focus the button and press Enter.
    await button.focus();
    await page.keyboard.press("Enter");
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent()).toContain("Your email address is confirmed");
    await expect.poll(() => button.isVisible()).toBe(false);
    // Said once (the heading), and the next step is offered.
    expect((await status.textContent())?.split("Your email address is confirmed")).toHaveLength(2);
    expect(await signInLink(page).getAttribute("href")).toBe(SIGN_IN_URL);
    await browser.screenshot(page, "verify-email-confirmed");

    expect((await server.me(email, PASSWORD)).user).toMatchObject({
      status: "active",
      emailVerified: true,
    });

    // The same link again: used, and the page says what to do next.
    await page.goto(link);
    await page.getByRole("button", { name: "Confirm my email" }).click();
    await expect.poll(() => status.textContent()).toContain("This link can no longer be used");
    expect(await status.textContent()).toContain("just sign in");
    expect(await signInLink(page).getAttribute("href")).toBe(SIGN_IN_URL);
    await browser.screenshot(page, "verify-email-used");
    expect(page.problems.filter((text) => !text.includes("409"))).toEqual([]);
  });

  it("says the link is incomplete when it has no token, and sends nothing", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/verify-email`);
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toContain("This link is incomplete");
    expect(await page.getByRole("button", { name: "Confirm my email" }).isVisible()).toBe(false);
    expect(page.problems).toEqual([]);
  });
});

describe("/accept-invitation", () => {
  it("shows the server's WEAK_PASSWORD message, then accepts a good password", async () => {
    const email = "ivan.invited@example.com";
    const { link } = await invite(email, "Ivan");
    const before = await tokenRow(link);

    const page = await browser.newPage();
    await page.goto(link);
    const password = page.getByLabel("New password", { exact: true });
    await expect.poll(() => password.isVisible()).toBe(true);
    // The checked link named its account: a password manager saves the new password under it.
    expect(await accountOf(page)).toEqual({
      username: email,
      autocomplete: "username",
      hidden: true,
      shown: `For the account ${email}`,
    });
    // Checking it on opening neither spent nor extended it.
    expect(await tokenRow(link)).toEqual(before);
    expect(await page.locator("#password-policy").textContent()).toMatch(
      /at least 15 characters[\s\S]*common[\s\S]*email address and your username/,
    );
    await browser.screenshot(page, "accept-invitation");

    // What the API itself answers for the weak password (it does not spend the link).
    const token = new URL(link).searchParams.get("token");
    const refused = await server.api("POST", "/api/users/invitation/accept", {
      token,
      password: WEAK,
    });
    expect(refused).toMatchObject({ status: 400, body: { code: "WEAK_PASSWORD" } });

    await password.fill(WEAK);
    await password.press("Enter");
    const fieldError = page.locator("#password-error");
    await expect.poll(() => fieldError.textContent()).toContain(String(refused.body.message));
    expect(await password.getAttribute("aria-invalid")).toBe("true");
    // The field with the problem has the keyboard focus.
    await expect.poll(() => page.evaluate("document.activeElement.id")).toBe("password");
    await browser.screenshot(page, "accept-invitation-weak");

    await password.fill(STRONG);
    await page.getByLabel("Show password").check();
    expect(await password.getAttribute("type")).toBe("text");
    await page.keyboard.press("Tab"); // to the button, without a mouse
    await page.keyboard.press("Enter");
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent()).toContain("Your account is ready");
    expect(await signInLink(page).getAttribute("href")).toBe(SIGN_IN_URL);
    await browser.screenshot(page, "accept-invitation-done");

    expect(await server.me(email, STRONG)).toMatchObject({
      loginStatus: 200,
      user: { status: "active", emailVerified: true },
    });
    expect(page.problems.filter((text) => !text.includes("400"))).toEqual([]);
  });
});

describe("a dead invitation link", () => {
  it("expired: says so as the page opens, before any password is typed", async () => {
    const { id, link } = await invite("eli.expired@example.com", "Eli");
    // Eight days later: the link's 7 days are over.
    await server.t.db
      .updateTable("email_tokens")
      .set({ expires_at: new Date(Date.now() - 24 * 3600 * 1000) })
      .where("user_id", "=", id)
      .execute();
    const before = await tokenRow(link);

    const page = await browser.newPage();
    await page.goto(link);
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent()).toContain("This invitation link has expired");
    expect(await status.textContent()).toContain("Ask the person who invited you");
    expect(await page.getByLabel("New password", { exact: true }).isVisible()).toBe(false);
    // Nothing was typed, so the focus is not moved: the live region announces the news.
    expect(await page.evaluate("document.activeElement === document.body")).toBe(true);
    await browser.screenshot(page, "accept-invitation-expired");
    expect(await tokenRow(link)).toEqual(before);
    expect(page.problems).toEqual([]);
  });

  it("replaced by a newer invitation: says it does not work and which mail to open", async () => {
    const { id, link, admin } = await invite("rex.replaced@example.com", "Rex");
    const reissued = await server.api(
      "POST",
      `/api/users/${id}/invitation`,
      undefined,
      admin.accessToken,
    );
    expect(reissued.status).toBe(200);

    const page = await browser.newPage();
    await page.goto(link);
    const status = page.getByRole("status");
    await expect.poll(() => status.textContent()).toContain("This invitation link does not work");
    expect(await status.textContent()).toContain("Open the newest invitation mail");
    await browser.screenshot(page, "accept-invitation-replaced");
    expect(page.problems).toEqual([]);
  });

  it("when the check cannot be made, the form still appears and its submit tells", async () => {
    const { link } = await invite("nora.network@example.com", "Nora");
    await server.t.db
      .updateTable("email_tokens")
      .set({ used_at: new Date() })
      .where("token_hash", "=", hashToken(new URL(link).searchParams.get("token") as string))
      .execute();

    const page = await browser.newPage();
    await page.route("**/api/auth/link-state", (route) => route.abort());
    await page.goto(link);
    const password = page.getByLabel("New password", { exact: true });
    await expect.poll(() => password.isVisible()).toBe(true);
    expect((await accountOf(page)).username).toBe("");
    expect(await page.locator("#account").isHidden()).toBe(true);
    await password.fill(STRONG);
    await password.press("Enter");
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toContain("This invitation link can no longer be used");
    expect(await password.isVisible()).toBe(false);
    expect(
      page.problems.filter((text) => !text.includes("409") && !text.includes("ERR_FAILED")),
    ).toEqual([]);
  });
});

describe("/reset-password", () => {
  it("sets a new password from the mailed link; the old one stops working", async () => {
    const user = await server.t.createUser({ email: "rita.reset@example.com" });
    const requested = await server.api("POST", "/api/auth/password-reset", { email: user.email });
    expect(requested.status).toBe(202);
    const link = await server.linkInMail(user.email, "/reset-password");

    const page = await browser.newPage();
    await page.goto(link);
    const password = page.getByLabel("New password", { exact: true });
    await expect.poll(() => password.isVisible()).toBe(true);
    expect((await accountOf(page)).username).toBe(user.email);
    await password.fill(STRONGER);
    await browser.screenshot(page, "reset-password");
    await page.getByRole("button", { name: "Change my password" }).click();
    const status = page.getByRole("status").first();
    await expect.poll(() => status.textContent()).toContain("Your password has been changed");
    expect(await signInLink(page).getAttribute("href")).toBe(SIGN_IN_URL);
    await browser.screenshot(page, "reset-password-done");

    expect((await server.me(user.email, STRONGER)).loginStatus).toBe(200);
    expect((await server.me(user.email, PASSWORD)).loginStatus).toBe(401);
    expect(page.problems).toEqual([]);
  });

  it("a used link says so as the page opens, and offers to mail a new one", async () => {
    const user = await server.t.createUser({ email: "uma.used@example.com" });
    await server.api("POST", "/api/auth/password-reset", { email: user.email });
    const link = await server.linkInMail(user.email, "/reset-password");
    const token = new URL(link).searchParams.get("token");
    const spent = await server.api("POST", "/api/auth/password-reset/confirm", {
      token,
      newPassword: STRONG,
    });
    expect(spent.status).toBe(200);

    const page = await browser.newPage();
    await page.goto(link);
    const status = page.locator("#result");
    await expect
      .poll(() => status.textContent())
      .toContain("This reset link has already been used");
    expect(await page.getByLabel("New password", { exact: true }).isVisible()).toBe(false);
    expect(await signInLink(page).getAttribute("href")).toBe(SIGN_IN_URL);
    const email = page.getByLabel("Email address");
    await expect.poll(() => email.isVisible()).toBe(true);
    await browser.screenshot(page, "reset-password-used-on-open");

    await email.fill(user.email);
    await email.press("Enter");
    await expect
      .poll(() => page.locator("#request-result").textContent())
      .toContain("a new reset link is on its way");
    await browser.screenshot(page, "reset-password-used");
    // The new link works: it is another mail, with another token.
    const fresh = await server.linkInMail(user.email, "/reset-password");
    expect(fresh).not.toBe(link);
    expect(page.problems).toEqual([]);
  });
});
