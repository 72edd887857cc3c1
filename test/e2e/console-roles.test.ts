import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/users.ts";
import { enrolTotp } from "../helpers/second-factor.ts";
import { type ConsoleE2e, expectAccessible, signIn, startConsoleE2e } from "./console-harness.ts";

// The admin console for the other roles: an Admin works on Users and sees what only an AppAdmin
// may do disabled with the reason; a User is refused at the door.

let e2e: ConsoleE2e;
let admin: UserRow;
let appAdmin: UserRow;
let member: UserRow;

beforeAll(async () => {
  e2e = await startConsoleE2e();
  admin = await e2e.server.t.createUser({ role: "Admin", email: "adam.admin@example.com" });
  appAdmin = await e2e.server.t.createUser({ role: "AppAdmin", email: "apollo.app@example.com" });
  member = await e2e.server.t.createUser({ email: "uma.user@example.com", username: "uma_user" });
});
afterAll(async () => {
  await e2e?.close();
});

describe("a User", () => {
  it("is refused with the contract's code and message, and stays on the sign-in form", async () => {
    const page = await e2e.browser.newPage();
    await signIn(page, e2e.server.origin, member.email);
    const alert = page.getByRole("alert");
    await expect
      .poll(() => alert.textContent())
      .toBe("UNAUTHORIZED The admin console is only for Admin and AppAdmin accounts");
    expect(await page.getByRole("button", { name: "Sign in" }).isVisible()).toBe(true);
    expect(await page.evaluate("document.cookie")).toBe("");
    await expectAccessible(page);
    await e2e.browser.screenshot(page, "console-user-refused");
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await page.close();
  });

  it("signing in by keyboard alone with a wrong password shows INVALID_CREDENTIALS", async () => {
    const page = await e2e.browser.newPage();
    await page.goto(`${e2e.server.origin}/admin`);
    await page.getByLabel("Email").waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.type(admin.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type("not-my-password-at-all");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("INVALID_CREDENTIALS");
    await page.close();
  });
});

describe("an Admin", () => {
  it("edits a User; sees roles, organizations, mail and the audit log as AppAdmin-only", async () => {
    const page = await e2e.browser.newPage();
    await signIn(page, e2e.server.origin, admin.email);
    await page.getByRole("heading", { name: "Users" }).waitFor();
    const nav = page.getByRole("navigation", { name: "Console" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["Users", "Invite"]);

    await page.goto(`${e2e.server.origin}/admin#/users/${member.id}`);
    await page.getByRole("heading", { name: "Profile" }).waitFor();
    const role = page.getByLabel("Role");
    expect(await role.isDisabled()).toBe(true);
    expect(await page.getByText("Only an AppAdmin changes roles").isVisible()).toBe(true);
    expect(await page.getByText("Only an AppAdmin sees this").count()).toBe(2);
    await page.getByLabel("Last name").fill("Userton");
    await page.getByRole("button", { name: "Save profile" }).click();
    await page.getByText("Saved").waitFor();
    await page.getByRole("button", { name: "Suspend" }).click();
    await expect.poll(() => page.locator("h1 .status").textContent()).toBe("suspended");
    await expectAccessible(page);
    await e2e.browser.screenshot(page, "console-admin-user");

    // An AppAdmin's account: everything disabled, with the reason.
    await page.goto(`${e2e.server.origin}/admin#/users/${appAdmin.id}`);
    await page.getByRole("heading", { name: "Profile" }).waitFor();
    for (const label of ["First name", "Last name", "Username", "Role", "New password"]) {
      expect(await page.getByLabel(label).isDisabled()).toBe(true);
    }
    expect(await page.getByRole("button", { name: "Suspend" }).isDisabled()).toBe(true);
    expect(
      await page
        .getByText("Only an AppAdmin manages Admin and AppAdmin accounts")
        .first()
        .isVisible(),
    ).toBe(true);
    await expectAccessible(page);
    await e2e.browser.screenshot(page, "console-admin-appadmin-disabled");

    // The invite form offers the User role only.
    await page.goto(`${e2e.server.origin}/admin#/invite`);
    expect(await page.getByLabel("Role").isDisabled()).toBe(true);

    // Every session of the account ends elsewhere: the next call shows the sign-in form, saying so.
    const db = e2e.server.t.db;
    await db
      .updateTable("sessions")
      .set({ revoked_at: new Date() })
      .where("user_id", "=", admin.id)
      .execute();
    await db.updateTable("users").set({ token_version: 7 }).where("id", "=", admin.id).execute();
    await page.getByRole("link", { name: "Users" }).click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toBe("UNAUTHENTICATED The session has ended; sign in again");
    expect(await page.getByRole("button", { name: "Sign in" }).isVisible()).toBe(true);
    await page.close();
  });
});

describe("an AppAdmin with TOTP", () => {
  it("signs in with the password and then a code from an authenticator app", async () => {
    const user = await e2e.server.t.createUser({
      role: "AppAdmin",
      email: "tessa.totp@example.com",
    });
    const { app } = await enrolTotp(e2e.server.t, user);
    const page = await e2e.browser.newPage();
    await signIn(page, e2e.server.origin, user.email);
    const code = page.getByRole("textbox", { name: "Authenticator app code" });
    await code.waitFor();
    expect(await page.evaluate("document.cookie")).toBe("");
    await expectAccessible(page);
    await e2e.browser.screenshot(page, "console-second-factor");

    await code.fill(app.code() === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Verify" }).click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toContain("INVALID_SECOND_FACTOR");

    await code.fill(app.code());
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    // Signed in for good: a reload resumes from the cookie.
    await page.reload();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await page.close();
  });
});
