/**
 * Mailed links carry account-taking tokens (password reset, invitation, verification). Without
 * SMTP_URL the mail is written to an .eml file; only in development is its link also logged, for
 * a developer to click. With NODE_ENV=production no token reaches any log line, at any level,
 * whatever logs it (requests through both doors, the mail worker, the transport), and start-up
 * warns once that mail goes to files.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../server/app.ts";
import type { Config } from "../../server/config.ts";
import { buildDeps } from "../../server/deps.ts";
import { LOG_REDACT } from "../../server/log-format.ts";
import { createMailTransport } from "../../server/mail/transport.ts";
import { parseMail, testWorker } from "../helpers/mail-harness.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  // A fixed secret: the services below keep their files (and would keep keys) elsewhere.
  t = await createTestApp({ JWT_SECRET: "log-secrecy-test-secret-0123456789abcdef" });
});
afterAll(() => t.close());

/** The service as main.ts runs it, its pino logger writing every line (trace) to `lines`. */
async function serviceLoggingTo(nodeEnv: Config["NODE_ENV"], dataDir: string) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      callback();
    },
  });
  const config: Config = { ...t.config, NODE_ENV: nodeEnv, DATA_DIR: dataDir, LOG_LEVEL: "trace" };
  const app: FastifyInstance = await buildApp(
    await buildDeps(config, { db: t.db, logger: { level: "trace", stream, redact: LOG_REDACT } }),
  );
  const mailLog = app.log.child({ component: "mail" });
  const transport = createMailTransport(config, mailLog);
  const worker = await testWorker(t, { transport, log: mailLog, config });
  return { app, lines, transport, worker };
}

/** Mails of three kinds with tokens, asked for through both doors, then delivered. */
async function mailTokens(app: FastifyInstance, worker: { drainOnce(): Promise<void> }) {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const admin = await t.userWithToken({ role: "AppAdmin" });
  const signup = await app.inject({
    method: "POST",
    url: "/api/users/signup",
    payload: {
      email: `log-signup-${tag}@mail.test`,
      password: PASSWORD,
      firstName: "S",
      lastName: "U",
    },
  });
  expect(signup.statusCode, signup.body).toBe(201);
  const invite = await app.inject({
    method: "POST",
    url: "/trpc/users.create",
    headers: admin.auth,
    payload: { email: `log-invite-${tag}@mail.test`, firstName: "I", lastName: "V", role: "User" },
  });
  expect(invite.statusCode, invite.body).toBe(200);
  const user = await t.createUser({ email: `log-reset-${tag}@mail.test` });
  for (const url of ["/api/auth/password-reset", "/trpc/auth.passwordReset"]) {
    const reset = await app.inject({ method: "POST", url, payload: { email: user.email } });
    expect(reset.statusCode, reset.body).toBeLessThan(300);
  }
  await worker.drainOnce();
  return tag;
}

/** The tokens in the .eml files written for this tag's addresses. */
async function tokensInFiles(dataDir: string, tag: string): Promise<string[]> {
  const dir = join(dataDir, "mail");
  const tokens: string[] = [];
  for (const file of await readdir(dir)) {
    const mail = parseMail(await readFile(join(dir, file), "utf8"));
    if (!mail.to.includes(tag)) continue;
    for (const match of mail.text.matchAll(/\?token=([A-Za-z0-9_%-]+)/g)) {
      tokens.push(decodeURIComponent(match[1] as string));
    }
  }
  return tokens;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("mail links in the logs, without SMTP_URL", () => {
  it("NODE_ENV=production: the .eml files hold the links, no log line holds a token; one start-up warning", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mail-prod-"));
    dirs.push(dataDir);
    const { app, lines, transport, worker } = await serviceLoggingTo("production", dataDir);
    try {
      expect(transport.mode).toBe("file");
      const tag = await mailTokens(app, worker);
      // Use the reset link too: the page and the confirmation are requests that get logged.
      const tokens = await tokensInFiles(dataDir, tag);
      expect(tokens.length).toBeGreaterThanOrEqual(3);
      for (const token of tokens) {
        await app.inject({ method: "GET", url: `/reset-password?token=${token}` });
      }
      expect(lines.length).toBeGreaterThan(5);
      for (const token of tokens) {
        expect(lines.filter((line) => line.includes(token))).toEqual([]);
      }
      expect(lines.filter((line) => line.includes("?token="))).toEqual([]);
      const written = lines.filter((line) => line.includes("mail written to file"));
      expect(written.length).toBe(tokens.length);
      const warnings = lines.filter((line) => line.includes("SMTP_URL is unset"));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0] as string).level).toBe(40);
    } finally {
      await app.close();
    }
  });

  it("NODE_ENV=development: each written mail's line carries its link, for the developer", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mail-dev-"));
    dirs.push(dataDir);
    const { app, lines, worker } = await serviceLoggingTo("development", dataDir);
    try {
      const tag = await mailTokens(app, worker);
      const tokens = await tokensInFiles(dataDir, tag);
      expect(tokens.length).toBeGreaterThanOrEqual(3);
      const written = lines
        .filter((line) => line.includes("mail written to file"))
        .map((line) => JSON.parse(line) as { link?: string });
      for (const token of tokens) {
        expect(
          written.some((line) => line.link?.endsWith(`token=${encodeURIComponent(token)}`)),
        ).toBe(true);
      }
      expect(lines.filter((line) => line.includes("SMTP_URL is unset"))).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
