import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { sql } from "kysely";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { enqueueMail, notifyMailQueued } from "../../db/mail-outbox.ts";
import {
  createMailTransport,
  type MailLog,
  type TransportOptions,
} from "../../server/mail/transport.ts";
import { createMailWorker, type MailWorkerOptions } from "../../server/mail/worker.ts";
import { createTestApp, type TestApp } from "./test-app.ts";

export const APP_URL = "https://app.example.test";

/** A mail as the test SMTP server received it. */
export type ReceivedMail = {
  envelopeTo: string[];
  headers: Map<string, string>;
  subject: string;
  messageId: string;
  from: string;
  to: string;
  text: string;
  html: string;
  raw: string;
  receivedAt: number;
};

export type SmtpTestServer = Awaited<ReturnType<typeof startSmtpServer>>;

/** An SMTP server on loopback that keeps what it receives (plain SMTP, no auth, no TLS). */
export async function startSmtpServer(
  port = 0,
  options: Partial<SMTPServerOptions> = {},
  /** Runs before the server answers a message's DATA (to make the server slow, say). */
  beforeAccept?: (raw: string) => Promise<void>,
) {
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        await beforeAccept?.(raw);
        const envelopeTo = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        received.push({ ...parseMail(raw), envelopeTo, raw, receivedAt: performance.now() });
        for (const wake of waiters) wake();
        callback();
      });
    },
    ...options,
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actualPort = (server.server.address() as AddressInfo).port;

  /** Waits until a mail matching `match` arrives (bounded), and returns it. */
  async function waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no matching mail arrived in time");
      await new Promise<void>((resolve) => {
        const done = () => {
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 50));
        waiters.add(done);
      });
    }
  }

  return {
    port: actualPort,
    url: `smtp://127.0.0.1:${actualPort}`,
    received,
    waitFor,
    to: (address: string) => received.filter((mail) => mail.envelopeTo.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type MailTestApp = Awaited<ReturnType<typeof createMailTestApp>>;

/**
 * The test app mailing through a loopback SMTP server, with a worker that delivers when a test
 * says so (`drainOnce`). `smtp` passes startSmtpServer's options and hook (a slow server, say);
 * `close` ends the app, then the server.
 */
export async function createMailTestApp(
  smtpSetup: {
    options?: Partial<SMTPServerOptions>;
    beforeAccept?: (raw: string) => Promise<void>;
  } = {},
) {
  const smtp = await startSmtpServer(0, smtpSetup.options, smtpSetup.beforeAccept);
  const t = await createTestApp({ SMTP_URL: smtp.url, APP_URL });
  const worker = await testWorker(t);

  /** Delivers what is queued and returns the newest mail to the address. */
  async function lastMailTo(address: string): Promise<ReceivedMail> {
    await worker.drainOnce();
    const mails = smtp.to(address);
    const mail = mails[mails.length - 1];
    if (!mail) throw new Error(`no mail to ${address}`);
    return mail;
  }

  return {
    ...t,
    smtp,
    worker,
    lastMailTo,
    close: async () => {
      await t.close();
      await smtp.close();
    },
  };
}

/** A loopback port that nothing listens on (for "the mail server is down"). */
export async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Minimal RFC 5322 / MIME reading: unfolded headers and the text and HTML parts, decoded. */
export function parseMail(raw: string) {
  const { headers, body } = splitEntity(raw);
  const parts = { text: "", html: "" };
  collectParts(headers, body, parts);
  return {
    headers,
    subject: headers.get("subject") ?? "",
    messageId: headers.get("message-id") ?? "",
    from: headers.get("from") ?? "",
    to: headers.get("to") ?? "",
    ...parts,
  };
}

function splitEntity(raw: string) {
  const normal = raw.replace(/\r\n/g, "\n");
  const end = normal.indexOf("\n\n");
  const head = end === -1 ? normal : normal.slice(0, end);
  const body = end === -1 ? "" : normal.slice(end + 2);
  const headers = new Map<string, string>();
  let last = "";
  for (const line of head.split("\n")) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectParts(
  headers: Map<string, string>,
  body: string,
  out: { text: string; html: string },
) {
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith("--")) break;
      const part = splitEntity(chunk.replace(/^\n/, ""));
      collectParts(part.headers, part.body, out);
    }
    return;
  }
  const decoded = decodeBody(body, headers.get("content-transfer-encoding") ?? "7bit");
  if (/^text\/html/i.test(type)) out.html += decoded;
  else if (/^text\/plain/i.test(type)) out.text += decoded;
}

function decodeBody(body: string, encoding: string): string {
  if (/base64/i.test(encoding))
    return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (/quoted-printable/i.test(encoding)) {
    const joined = body.replace(/=\n/g, "");
    const bytes: number[] = [];
    for (let i = 0; i < joined.length; i++) {
      const hex = joined.slice(i + 1, i + 3);
      if (joined[i] === "=" && /^[0-9A-F]{2}$/i.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(joined[i] as string, "utf8"));
      }
    }
    return Buffer.from(bytes).toString("utf8");
  }
  return body;
}

/** The emailed link in a mail's text part: it must start with APP_URL + path. */
export function linkIn(mail: ReceivedMail, path: string): { url: string; token: string } {
  const pattern = new RegExp(`${escapeRegExp(APP_URL + path)}\\?token=([A-Za-z0-9_%-]+)`);
  const match = pattern.exec(mail.text);
  if (!match?.[1]) throw new Error(`no ${path} link in mail "${mail.subject}"`);
  return { url: match[0], token: decodeURIComponent(match[1]) };
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Where a worker's LISTEN connection goes: this test file's own database on DATABASE_URL. */
export async function databaseUrlOf(t: TestApp): Promise<string | undefined> {
  const server = process.env.DATABASE_URL;
  if (!server) return undefined;
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.db);
  const url = new URL(server);
  url.pathname = `/${rows[0]?.name}`;
  return url.toString();
}

export const databaseKind = (): "postgres" | "pglite" =>
  process.env.DATABASE_URL ? "postgres" : "pglite";

/** A worker on the test app's database, sending through the app's SMTP_URL (or another). */
export async function testWorker(
  t: TestApp,
  options: Partial<MailWorkerOptions> & {
    smtpUrl?: string;
    transportOptions?: TransportOptions;
  } = {},
) {
  const log = options.log ?? silentLog();
  const transport =
    options.transport ??
    createMailTransport(
      { ...t.config, SMTP_URL: options.smtpUrl ?? t.config.SMTP_URL },
      log,
      options.transportOptions,
    );
  const worker = createMailWorker({
    db: t.db,
    config: t.config,
    transport,
    log,
    kind: databaseKind(),
    listenUrl: await databaseUrlOf(t),
    ...options,
  });
  return Object.assign(worker, { transport });
}

export const silentLog = (): MailLog => {
  const noop = () => {};
  return { debug: noop, info: noop, warn: noop, error: noop } as unknown as MailLog;
};

/** Polls until `check` passes (bounded). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** The outbox row of the one mail queued to `recipient`. */
export const outboxRow = (t: TestApp, recipient: string) =>
  t.db
    .selectFrom("mail_outbox")
    .selectAll()
    .where("recipient", "=", recipient)
    .executeTakeFirstOrThrow();

/** Queues one password-reset-shaped mail per recipient, in one transaction, and notifies. */
export async function queueTestMails(t: TestApp, recipients: string[]): Promise<void> {
  await t.db.transaction().execute(async (tx) => {
    for (const recipient of recipients) {
      await enqueueMail(
        tx,
        {
          userId: null,
          kind: "password_reset",
          recipient,
          payload: {
            link: `${APP_URL}/reset-password?token=test`,
            firstName: "Test",
            expiresInSeconds: 3600,
          },
        },
        "test.example",
      );
    }
    await notifyMailQueued(tx);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
