import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/users.ts";
import {
  type ConsoleE2e,
  expectAccessible,
  seedUsers,
  signIn,
  startConsoleE2e,
} from "./console-harness.ts";
import { SCREENSHOTS } from "./harness.ts";

// The admin console in Chromium, as an AppAdmin: the users table (filter, sort, page), one user
// (edit, suspend, delete, restore, password), an invitation accepted from the mail, an
// organization tree with members, and every action found in the audit log.

const STRONG = "copper-meadow-violin-47-sunrise";
const SEEDED = 260;

let e2e: ConsoleE2e;
let page: Page & { problems: string[] };
let appAdmin: UserRow;
let target: UserRow;

beforeAll(async () => {
  // Rate limits on, as in production: the reissued invitation meets its 429.
  e2e = await startConsoleE2e({ RATE_LIMIT: "on" });
  appAdmin = await e2e.server.t.createUser({ role: "AppAdmin", email: "ada.appadmin@example.com" });
  target = await e2e.server.t.createUser({
    email: "tom.target@example.com",
    username: "tom_target",
  });
  await seedUsers(e2e.server, SEEDED, "Pager");
  page = await e2e.browser.newPage();
});
afterAll(async () => {
  await e2e?.close();
});

const shot = (name: string) => e2e.browser.screenshot(page, name);
const alert = () => page.getByRole("alert");
const go = (hash: string) => page.goto(`${e2e.server.origin}/admin#${hash}`);

describe("signing in", () => {
  it("shows a labelled sign-in form, then the users table; the refresh token is out of script's reach", async () => {
    await page.goto(`${e2e.server.origin}/admin`);
    await expect
      .poll(() => page.getByRole("heading", { name: "Admin console" }).isVisible())
      .toBe(true);
    await expectAccessible(page);
    await shot("console-sign-in");
    await signIn(page, e2e.server.origin, appAdmin.email);
    await page.getByRole("heading", { name: "Users" }).waitFor();
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.evaluate("JSON.stringify({ ...localStorage, ...sessionStorage })")).toBe(
      "{}",
    );
    // A reload resumes from the cookie: still signed in.
    await page.reload();
    await page.getByRole("heading", { name: "Users" }).waitFor();
    await expect
      .poll(() => page.getByText("ada.appadmin@example.com (AppAdmin)").isVisible())
      .toBe(true);
  });
});

describe("the users table", () => {
  it("shows INVALID_FILTER's position inline in the filter box", async () => {
    await go("/users");
    const filter = page.getByLabel("Filter ($filter)");
    await filter.fill("lastName eq 'Pager' and");
    await page.getByRole("button", { name: "Apply" }).click();
    const error = page.locator("#filter-error");
    await error.waitFor();
    expect(await error.textContent()).toContain("INVALID_FILTER");
    expect(await error.locator("mark").count()).toBe(1);
    expect(await filter.getAttribute("aria-invalid")).toBe("true");
    await expectAccessible(page);
    await shot("console-users-invalid-filter");
  });

  it("filters, pages by the next-page cursor with the exact count, and sorts", async () => {
    const filter = page.getByLabel("Filter ($filter)");
    await filter.fill("lastName eq 'Pager'");
    await page.getByRole("button", { name: "Apply" }).click();
    const count = page.locator(".count");
    await expect.poll(() => count.textContent()).toBe(`1–50 of ${SEEDED} users`);
    expect(await page.locator("tbody tr").count()).toBe(50);
    await shot("console-users");
    // The README's picture: what fits in the window.
    await page.screenshot({ path: join(SCREENSHOTS, "console-users-window.png") });
    await expectAccessible(page);
    const seen = new Set<string>();
    for (let pageNo = 0; pageNo < 6; pageNo += 1) {
      const from = pageNo * 50 + 1;
      await expect
        .poll(() => count.textContent())
        .toBe(`${from}–${Math.min(from + 49, SEEDED)} of ${SEEDED} users`);
      for (const name of await page.locator("tbody tr td:first-child").allTextContents())
        seen.add(name);
      if (pageNo < 5) await page.getByRole("button", { name: "Next page" }).click();
    }
    expect(seen.size).toBe(SEEDED);
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect.poll(() => count.textContent()).toBe(`201–250 of ${SEEDED} users`);

    // Sorting by username, ascending then descending, starts again at page 1.
    await page.getByRole("button", { name: "Username" }).click();
    await expect.poll(() => count.textContent()).toBe(`1–50 of ${SEEDED} users`);
    expect(await page.locator("tbody tr td:first-child").first().textContent()).toBe("pager0001");
    await page.getByRole("button", { name: "Username" }).click();
    await expect
      .poll(() => page.locator("tbody tr td:first-child").first().textContent())
      .toBe("pager0260");
    expect(await page.locator("th[aria-sort]").getAttribute("aria-sort")).toBe("descending");
  });
});

describe("one user", () => {
  const status = () => page.locator("h1 .status").textContent();

  it("edits names and username, suspends and activates", async () => {
    await go("/users");
    await page.getByLabel("Filter ($filter)").fill("username eq 'tom_target'");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("link", { name: "tom_target" }).click();
    await page.getByRole("heading", { name: "Profile" }).waitFor();
    await page.getByLabel("First name").fill("Thomas");
    await page.getByLabel("Username").fill("thomas_target");
    await page.getByRole("button", { name: "Save profile" }).click();
    await page.getByText("Saved").waitFor();
    await expect.poll(() => page.locator("h1").textContent()).toContain("Thomas");
    const stored = await e2e.server.t.db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", target.id)
      .executeTakeFirstOrThrow();
    expect([stored.first_name, stored.username]).toEqual(["Thomas", "thomas_target"]);

    await page.getByRole("button", { name: "Suspend" }).click();
    await expect.poll(status).toBe("suspended");
    await page.getByRole("button", { name: "Activate" }).click();
    await expect.poll(status).toBe("active");
  });

  it("shows the password policy's messages, then sets a password the user signs in with", async () => {
    const password = page.getByLabel("New password");
    await password.fill("passwordpassword");
    await page.getByRole("button", { name: "Set password" }).click();
    await expect.poll(() => alert().first().textContent()).toContain("WEAK_PASSWORD");
    await shot("console-user-weak-password");
    await password.fill(STRONG);
    await page.getByRole("button", { name: "Set password" }).click();
    await page.getByText("Password set").waitFor();
    expect((await e2e.server.me(target.email, STRONG)).loginStatus).toBe(200);
  });

  it("deletes (after confirming) and restores", async () => {
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("button", { name: "Yes, delete thomas_target" }).click();
    await expect.poll(status).toBe("deleted");
    expect(await page.getByLabel("First name").isDisabled()).toBe(true);
    await shot("console-user-deleted");
    await page.getByRole("button", { name: "Restore" }).click();
    await expect.poll(status).toBe("active");
    await expectAccessible(page);
    await shot("console-user");
  });
});

describe("inviting", () => {
  it("invites a user who accepts from the mail; a second mail at once is refused with a wait", async () => {
    await go("/invite");
    await page.getByLabel("Email").fill("ivy.invitee@example.com");
    await page.getByLabel("First name").fill("Ivy");
    await page.getByLabel("Last name").fill("Invitee");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toContain("Invited ivy.invitee@example.com");
    await expectAccessible(page);
    await shot("console-invite");
    await page.getByRole("link", { name: "ivy.invitee@example.com" }).click();
    await expect.poll(() => page.locator("h1 .status").textContent()).toBe("invited");
    // The first resend goes out; one more at once is held back by the mail interval.
    await page.getByRole("button", { name: "Resend invitation" }).click();
    await page.getByText("Invitation mail sent").waitFor();
    // The mail history follows at once: the invitation and the one resent.
    const mailKinds = () =>
      page
        .locator("section.card", { has: page.getByRole("heading", { name: "Mail" }) })
        .locator("tbody tr td:first-child")
        .allTextContents();
    await expect.poll(mailKinds).toEqual(["invitation", "invitation"]);
    await page.getByRole("button", { name: "Resend invitation" }).click();
    await expect
      .poll(() => alert().first().textContent())
      .toMatch(/RATE_LIMITED.*try again in \d+/);
    await shot("console-user-invited-rate-limited");

    const link = await e2e.server.linkInMail("ivy.invitee@example.com", "/accept-invitation");
    const invitee = await e2e.browser.newPage();
    await invitee.goto(link);
    await invitee.getByLabel("New password").fill(STRONG);
    await invitee.getByRole("button", { name: "Set my password" }).click();
    await expect
      .poll(() => invitee.getByRole("status").textContent())
      .toContain("Your account is ready");
    await expect
      .poll(async () => (await e2e.server.me("ivy.invitee@example.com", STRONG)).loginStatus, {
        timeout: 10_000,
      })
      .toBe(200);
    await invitee.close();
    await page.reload();
    await expect.poll(() => page.locator("h1 .status").textContent()).toBe("active");
    // Her mail history (AppAdmin): the invitation and the one resent.
    const mail = page.locator("section.card", { has: page.getByRole("heading", { name: "Mail" }) });
    await expect
      .poll(() => mail.locator("tbody tr td:first-child").allTextContents())
      .toEqual(["invitation", "invitation"]);
  });
});

describe("organizations", () => {
  const create = async (name: string, parent?: string) => {
    const form = page.locator("form", {
      has: page.getByRole("heading", { name: "New organization" }),
    });
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("Parent").selectOption({ label: parent ?? "(none: a root)" });
    await form.getByRole("button", { name: "Create" }).click();
    await page.getByText(`Created ${name}`).waitFor();
  };

  it("builds a tree, refuses a cycle and deleting a non-empty one with 409, and manages members", async () => {
    await go("/organizations");
    await page.getByRole("heading", { name: "Tree" }).waitFor();
    await create("Acme");
    await create("Acme Europe", "Acme");
    await create("Acme Paris", "— Acme Europe");
    const tree = page.getByRole("list", { name: "Organization tree" });
    await expect
      .poll(() => tree.locator("li").allTextContents())
      .toEqual(["Acme", "Acme Europe", "Acme Paris"]);

    // Moving Acme under its own grandchild: the service's 409 is shown.
    await tree.getByRole("button", { name: "Acme", exact: true }).click();
    await page.getByRole("heading", { name: "Acme", exact: true }).waitFor();
    const panel = page.locator("form", {
      has: page.getByRole("button", { name: "Save (rename / move)" }),
    });
    await panel.getByLabel("Parent").selectOption({ label: "— — Acme Paris" });
    await panel.getByRole("button", { name: "Save (rename / move)" }).click();
    await expect.poll(() => alert().first().textContent()).toContain("CONFLICT");
    await shot("console-organizations-cycle");
    await panel.getByRole("button", { name: "Delete organization" }).click();
    await expect.poll(() => alert().first().textContent()).toMatch(/CONFLICT/);

    // Rename and move Acme Paris to the root.
    await tree.getByRole("button", { name: "Acme Paris" }).click();
    await panel.getByLabel("Name").fill("Acme France");
    await panel.getByLabel("Parent").selectOption({ label: "(none: a root)" });
    await panel.getByRole("button", { name: "Save (rename / move)" }).click();
    await expect
      .poll(() => tree.locator("li").allTextContents())
      .toEqual(["Acme", "Acme Europe", "Acme France"]);

    // Members with roles, by username and by id.
    await tree.getByRole("button", { name: "Acme Europe" }).click();
    const members = page.locator("section.card", {
      has: page.getByRole("heading", { name: "Members" }),
    });
    await members.getByLabel("User (id or username)").fill("thomas_target");
    await members.getByLabel("Membership role").selectOption("Admin");
    await members.getByRole("button", { name: "Add or change member" }).click();
    await page.getByText("thomas_target is a Admin").waitFor();
    await members.getByLabel("User (id or username)").fill("pager0001");
    await members.getByRole("button", { name: "Add or change member" }).click();
    await expect.poll(() => members.locator("tbody tr").count()).toBe(2);
    await members.getByRole("button", { name: "Remove pager0001" }).click();
    await expect.poll(() => members.locator("tbody tr").count()).toBe(1);
    await expectAccessible(page);
    await shot("console-organizations");

    // The member's page lists the organization.
    await go(`/users/${target.id}`);
    await page.getByText("Acme Europe (Admin)").waitFor();
    await page.getByText("No mail sent.").waitFor();
  });
});

describe("the audit log", () => {
  it("holds each action, filterable by target and by actor", async () => {
    await go(`/audit?targetUserId=${target.id}`);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    const actions = () => page.locator("table.audit tbody tr td:nth-child(2)").allTextContents();
    await expect
      .poll(async () => new Set(await actions()))
      .toEqual(
        new Set([
          "user.edit",
          "user.password_set",
          "user.delete",
          "user.restore",
          "membership.put",
        ]),
      );
    expect((await actions()).filter((a) => a === "user.edit")).toHaveLength(3);
    await expectAccessible(page);
    await shot("console-audit");

    await page.getByLabel("Target (user id)").fill("");
    await page.getByLabel("Actor (user id)").fill(String(appAdmin.id));
    await page.getByRole("button", { name: "Filter" }).click();
    await expect
      .poll(async () => new Set(await actions()))
      .toEqual(
        new Set([
          "user.edit",
          "user.password_set",
          "user.delete",
          "user.restore",
          "user.create",
          "organization.create",
          "organization.edit",
          "membership.put",
          "membership.delete",
        ]),
      );
  });

  it("reads on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go("/users");
    await page.getByLabel("Filter ($filter)").fill("startswith(username,'pager000')");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => page.locator(".count").textContent()).toBe("1–9 of 9 users");
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - innerWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("console-users-phone");
    await page.setViewportSize({ width: 1000, height: 820 });
  });

  it("signs out: the session ends and a reload shows the sign-in form", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Admin console" }).waitFor();
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    const live = await e2e.server.t.db
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", appAdmin.id)
      .where("revoked_at", "is", null)
      .execute();
    expect(live).toEqual([]);
    expect(
      page.problems.filter(
        (p) =>
          !p.includes("401") &&
          !p.includes("403") &&
          !p.includes("409") &&
          !p.includes("400") &&
          !p.includes("429"),
      ),
    ).toEqual([]);
  });
});
