import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { freePort } from "../../scripts/bench/processes.ts";
import { createMailTransport, type MailLog } from "../../server/mail/transport.ts";
import { createMailWorker } from "../../server/mail/worker.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = "test-results/e2e";

const silent: MailLog = { debug() {}, info() {}, warn() {}, error() {} };

export type E2eServer = Awaited<ReturnType<typeof startE2eServer>>;

/**
 * The whole service listening on loopback, on a database of its own, with SMTP unset: mails are
 * delivered by a mail worker into memory (DATA_DIR is memory://) and read from there. APP_URL
 * and PUBLIC_URL are the server's own origin, so mailed links and the docs' server URL work;
 * `settings` adds others. `hostName` names that origin: WebAuthn refuses an IP address, so the
 * passkey tests use `localhost` (a secure context too); the server listens on 127.0.0.1 either way.
 */
export async function startE2eServer(
  settings: Record<string, string> = {},
  { hostName = "127.0.0.1" }: { hostName?: "127.0.0.1" | "localhost" } = {},
) {
  const port = await freePort();
  const origin = `http://${hostName}:${port}`;
  const t: TestApp = await createTestApp({ PUBLIC_URL: origin, APP_URL: origin, ...settings });
  await t.app.listen({ port, host: "127.0.0.1" });
  const transport = createMailTransport(t.config, silent);
  if (transport.mode !== "memory")
    throw new Error(`expected in-memory mail, got ${transport.mode}`);
  const worker = createMailWorker({
    db: t.db,
    config: t.config,
    transport,
    log: silent,
    kind: process.env.DATABASE_URL ? "postgres" : "pglite",
  });

  /** Delivers the queued mail, then returns the link to `path` in the newest mail to `to`. */
  async function linkInMail(to: string, path: string): Promise<string> {
    await worker.drainOnce();
    const mails = transport.messages.filter((message) => message.mail.to === to);
    const newest = mails[mails.length - 1];
    if (!newest) throw new Error(`no mail to ${to}`);
    const pattern = new RegExp(`${escapeRegExp(origin + path)}\\?token=[A-Za-z0-9_%-]+`);
    const link = pattern.exec(newest.mail.text)?.[0];
    if (!link) throw new Error(`no ${path} link in the mail "${newest.mail.subject}" to ${to}`);
    return link;
  }

  /** A JSON request to the listening server, as any HTTP client would make it. */
  async function api(
    method: string,
    path: string,
    body?: unknown,
    accessToken?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(origin + path, {
      method,
      headers: {
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(accessToken && { authorization: `Bearer ${accessToken}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** Logs in through the API and returns the caller's own user (`GET /api/users/me`). */
  async function me(email: string, password: string) {
    const login = await api("POST", "/api/auth/token", { email, password });
    if (login.status !== 200) return { loginStatus: login.status, user: undefined };
    const res = await api("GET", "/api/users/me", undefined, String(login.body.accessToken));
    return { loginStatus: login.status, user: res.body };
  }

  return {
    t,
    origin,
    linkInMail,
    api,
    me,
    close: async () => {
      await worker.stop();
      await t.close();
    },
  };
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export type E2eBrowser = Awaited<ReturnType<typeof launchBrowser>>;

/** Headless Chromium with a fresh profile, removed on close. */
export async function launchBrowser() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const userDataDir = await mkdtemp(join(tmpdir(), "users-api-e2e-"));
  const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1000, height: 820 },
    locale: "en-US",
  });
  context.setDefaultTimeout(15_000);

  /** A new tab that records console errors, CSP violations and uncaught exceptions. */
  async function newPage(): Promise<Page & { problems: string[] }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    return Object.assign(page, { problems });
  }

  return {
    context,
    newPage,
    screenshot: (page: Page, name: string) =>
      page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true }),
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
