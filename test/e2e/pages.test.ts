import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD } from "../helpers/test-app.ts";
import { type E2eBrowser, type E2eServer, launchBrowser, startE2eServer } from "./harness.ts";

// The landing pages mails link to, driven in Chromium the way a person uses them.

const STRONG = "copper-meadow-violin-47-sunrise";
const STRONGER = "quiet-orbit-maple-93-harbor-lamp";
const WEAK = "passwordpassword";

let server: E2eServer;
let browser: E2eBrowser;

beforeAll(async () => {
  server = await startE2eServer();
  browser = await launchBrowser();
});
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
    await browser.screenshot(page, "verify-email-confirmed");

    expect((await server.me(email, PASSWORD)).user).toMatchObject({
      status: "active",
      emailVerified: true,
    });

    // The same link again: used, and the page says what to do next.
    await page.goto(link);
    await page.getByRole("button", { name: "Confirm my email" }).click();
    await expect.poll(() => status.textContent()).toContain("This link can no longer be used");
    expect(await status.textContent()).toContain("just log in");
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
    const admin = await server.t.userWithToken({ role: "Admin" });
    const email = "ivan.invited@example.com";
    const created = await server.api(
      "POST",
      "/api/users",
      { email, firstName: "Ivan", lastName: "Invited" },
      admin.accessToken,
    );
    expect(created.status).toBe(201);
    const link = await server.linkInMail(email, "/accept-invitation");

    const page = await browser.newPage();
    await page.goto(link);
    const password = page.getByLabel("New password", { exact: true });
    await expect.poll(() => password.isVisible()).toBe(true);
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
    await browser.screenshot(page, "accept-invitation-done");

    expect(await server.me(email, STRONG)).toMatchObject({
      loginStatus: 200,
      user: { status: "active", emailVerified: true },
    });
    expect(page.problems.filter((text) => !text.includes("400"))).toEqual([]);
  });
});

describe("an expired invitation link", () => {
  it("says so and tells whom to ask for a new one", async () => {
    const admin = await server.t.userWithToken({ role: "Admin" });
    const email = "eli.expired@example.com";
    const created = await server.api(
      "POST",
      "/api/users",
      { email, firstName: "Eli", lastName: "Expired" },
      admin.accessToken,
    );
    expect(created.status).toBe(201);
    const link = await server.linkInMail(email, "/accept-invitation");
    // Eight days later: the link's 7 days are over.
    await server.t.db
      .updateTable("email_tokens")
      .set({ expires_at: new Date(Date.now() - 24 * 3600 * 1000) })
      .where("user_id", "=", Number(created.body.id))
      .execute();

    const page = await browser.newPage();
    await page.goto(link);
    const password = page.getByLabel("New password", { exact: true });
    await password.fill(STRONG);
    await password.press("Enter");
    const status = page.getByRole("status");
    await expect
      .poll(() => status.textContent())
      .toContain("This invitation link can no longer be used");
    expect(await status.textContent()).toContain("ask the person who invited you");
    expect(await password.isVisible()).toBe(false);
    await browser.screenshot(page, "accept-invitation-expired");
    expect(page.problems.filter((text) => !text.includes("409"))).toEqual([]);
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
    await password.fill(STRONGER);
    await browser.screenshot(page, "reset-password");
    await page.getByRole("button", { name: "Change my password" }).click();
    const status = page.getByRole("status").first();
    await expect.poll(() => status.textContent()).toContain("Your password has been changed");
    await browser.screenshot(page, "reset-password-done");

    expect((await server.me(user.email, STRONGER)).loginStatus).toBe(200);
    expect((await server.me(user.email, PASSWORD)).loginStatus).toBe(401);
    expect(page.problems).toEqual([]);
  });

  it("a used link says so and offers to mail a new one", async () => {
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
    await page.getByLabel("New password", { exact: true }).fill(STRONGER);
    await page.getByLabel("New password", { exact: true }).press("Enter");
    const status = page.locator("#result");
    await expect
      .poll(() => status.textContent())
      .toContain("This reset link can no longer be used");
    const email = page.getByLabel("Email address");
    await expect.poll(() => email.isVisible()).toBe(true);

    await email.fill(user.email);
    await email.press("Enter");
    await expect
      .poll(() => page.locator("#request-result").textContent())
      .toContain("a new reset link is on its way");
    await browser.screenshot(page, "reset-password-used");
    // The new link works: it is another mail, with another token.
    const fresh = await server.linkInMail(user.email, "/reset-password");
    expect(fresh).not.toBe(link);
    expect(page.problems.filter((text) => !text.includes("409"))).toEqual([]);
  });
});
