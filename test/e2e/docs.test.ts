import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type E2eBrowser,
  type E2eServer,
  launchBrowser,
  SCREENSHOTS,
  startE2eServer,
} from "./harness.ts";

// The interactive docs: Swagger UI from the installed package, authorized with a bearer token.

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

it("/docs: Authorize with a bearer token, then Try it out → Execute on GET /users/me is a 200", async () => {
  const { user, accessToken } = await server.t.userWithToken();
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on("request", (request) => requests.push(request.url()));

  await page.goto(`${server.origin}/docs`);
  const authorize = page.locator(".swagger-ui .auth-wrapper .authorize");
  await expect.poll(() => authorize.isVisible()).toBe(true);
  await page.screenshot({ path: `${SCREENSHOTS}/docs.png` });

  await authorize.click();
  const dialog = page.locator(".modal-ux");
  await expect.poll(() => dialog.textContent()).toContain("bearerAuth");
  await dialog.locator("input").fill(accessToken);
  await dialog.locator(".auth-btn-wrapper .authorize").click();
  await expect.poll(() => dialog.textContent()).toContain("Authorized");
  await dialog.locator(".auth-btn-wrapper .btn-done").click();

  const operation = page.locator("#operations-users-users-me");
  await operation.locator(".opblock-summary").first().click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();

  const status = operation.locator(".live-responses-table tbody .response-col_status").first();
  await expect.poll(async () => (await status.textContent())?.trim()).toBe("200");
  const body = await operation
    .locator(".live-responses-table tbody .microlight")
    .first()
    .textContent();
  expect(JSON.parse(body ?? "")).toMatchObject({ id: user.id, email: user.email });
  // The generated curl line carries the bearer token Swagger UI was given.
  expect(await operation.locator(".curl-command").textContent()).toContain(
    `Authorization: Bearer ${accessToken}`,
  );
  await operation.screenshot({ path: `${SCREENSHOTS}/docs-users-me-200.png` });

  // Everything came from this server: no CDN.
  const foreign = requests.filter(
    (url) => !url.startsWith(server.origin) && !url.startsWith("data:"),
  );
  expect(foreign).toEqual([]);
});
