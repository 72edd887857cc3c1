import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { buildTestConsole } from "../helpers/console-build.ts";
import { PASSWORD } from "../helpers/test-app.ts";
import { launchBrowser, startE2eServer } from "./harness.ts";

// What the console's browser tests share: the service with a freshly built console, signing in
// through the page, an accessibility scan and seeding users in bulk.

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

export type ConsoleE2e = Awaited<ReturnType<typeof startConsoleE2e>>;

export async function startConsoleE2e(
  settings: Record<string, string> = {},
  origin: Parameters<typeof startE2eServer>[1] = {},
) {
  const built = await buildTestConsole();
  const server = await startE2eServer({ CONSOLE_DIR: built.dir, ...settings }, origin);
  const browser = await launchBrowser();
  return {
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
      await built.remove();
    },
  };
}

/** Opens /admin and signs in with the form, as a person would. */
export async function signIn(page: Page, origin: string, email: string, password = PASSWORD) {
  await page.goto(`${origin}/admin`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/**
 * axe-core's scan of the page as it is now (WCAG 2.1 A and AA): no violations. The script is
 * evaluated through the DevTools protocol, so the page's CSP stays as strict as served.
 */
export async function expectAccessible(page: Page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            options: unknown,
          ) => Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run({ runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return result.violations.map(
      (v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`,
    );
  });
  expect(violations).toEqual([]);
}

/** Stores `count` active users named `<lastName>` in one statement (no hashing: none sign in). */
export async function seedUsers(server: ConsoleE2e["server"], count: number, lastName: string) {
  const now = new Date();
  const rows = Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(4, "0");
    const tag = `${lastName.toLowerCase()}${n}`;
    return {
      email: `${tag}@example.com`,
      username: tag,
      first_name: `Person ${n}`,
      last_name: lastName,
      role: "User" as const,
      status: "active" as const,
      email_verified: true,
      password_hash: null,
      created_at: new Date(now.getTime() - i * 1000),
      updated_at: now,
    };
  });
  await server.t.db.insertInto("users").values(rows).execute();
}
