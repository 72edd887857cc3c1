import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyBaseLogger } from "fastify";
import type { Transporter } from "nodemailer";
import type { Config } from "../config.ts";

export type MailLog = Pick<FastifyBaseLogger, "debug" | "info" | "warn" | "error">;

/** One rendered mail, ready to go. */
export type OutgoingMail = {
  /** The outbox row's id and kind, for file names and logs. */
  id: number;
  kind: string;
  to: string;
  /** The Message-ID fixed when the mail was queued, so a resend can be recognised. */
  messageId: string;
  subject: string;
  text: string;
  html: string;
  /** The emailed link; logged only by the local .eml mode in development. */
  link?: string | undefined;
};

export type MailTransport = {
  readonly mode: "smtp" | "file" | "memory";
  /** Resolves once the mail server (or the file system) has accepted the mail. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
  /** Memory mode only: every message composed so far, with its raw RFC 5322 source. */
  readonly messages: ReadonlyArray<{ mail: OutgoingMail; raw: string }>;
};

export type TransportOptions = {
  /** Connection, greeting and idle-socket timeout for SMTP (ms). */
  timeoutMs?: number;
  /** Hard cap on one SMTP send, whatever the server does (ms). */
  sendTimeoutMs?: number;
};

type TransportConfig = Pick<Config, "SMTP_URL" | "MAIL_FROM" | "DATA_DIR" | "NODE_ENV">;

/**
 * SMTP through nodemailer when SMTP_URL is set; otherwise every mail becomes an .eml file under
 * DATA_DIR/mail (kept in memory when DATA_DIR is memory://, as in tests), and this warns once.
 */
export function createMailTransport(
  config: TransportConfig,
  log: MailLog,
  options: TransportOptions = {},
): MailTransport {
  if (config.SMTP_URL) return smtpTransport(config.SMTP_URL, config.MAIL_FROM, log, options);
  return localTransport(config, log);
}

/** nodemailer, loaded with the first mail: a process that sends none does not hold it. */
function lazyTransporter(
  make: (createTransport: typeof import("nodemailer").createTransport) => Transporter,
) {
  let made: Promise<Transporter> | undefined;
  return {
    get: () => {
      made ??= import("nodemailer").then(({ createTransport }) => make(createTransport));
      return made;
    },
    close: async () => (await made)?.close(),
  };
}

// Mail carries no attachments; nodemailer is told never to read files or URLs for it.
const SAFE = { disableFileAccess: true, disableUrlAccess: true } as const;
const HEADERS = { "Auto-Submitted": "auto-generated" };

function smtpTransport(
  url: string,
  from: string,
  log: MailLog,
  options: TransportOptions,
): MailTransport {
  const timeout = options.timeoutMs ?? 10_000;
  // Short timeouts: a mail server that accepts the connection and then hangs costs the worker
  // seconds per mail, not the minutes nodemailer waits by default.
  const transporter = lazyTransporter((createTransport) => {
    const made = createTransport(
      {
        url,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        dnsTimeout: timeout,
        ...SAFE,
      },
      { from },
    );
    // Send errors reach the caller; anything emitted beside them must not crash the process.
    made.on("error", (error) => log.warn({ error: error.message }, "SMTP transport error"));
    return made;
  });
  const sendTimeout = options.sendTimeoutMs ?? 3 * timeout;
  return {
    mode: "smtp",
    messages: [],
    async send(mail) {
      await (await transporter.get()).sendMail({
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: HEADERS,
        signal: AbortSignal.timeout(sendTimeout),
      });
    },
    close: transporter.close,
  };
}

function localTransport(config: TransportConfig, log: MailLog): MailTransport {
  const composer = lazyTransporter((createTransport) =>
    createTransport({ streamTransport: true, buffer: true, ...SAFE }, { from: config.MAIL_FROM }),
  );
  const inMemory = config.DATA_DIR.startsWith("memory://");
  const dir = join(config.DATA_DIR, "mail");
  // A developer clicks the logged link; anywhere else a log reader could take over the account
  // with it (logs are kept longer and read by more people than mailboxes).
  const logsLinks = config.NODE_ENV === "development";
  log.warn(
    { dir: inMemory ? config.DATA_DIR : dir },
    "SMTP_URL is unset: mails are not sent but written to files (set SMTP_URL to send them)",
  );
  const messages: Array<{ mail: OutgoingMail; raw: string }> = [];
  return {
    mode: inMemory ? "memory" : "file",
    messages,
    async send(mail) {
      const info = await (await composer.get()).sendMail({
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: HEADERS,
      });
      const raw = Buffer.isBuffer(info.message) ? info.message : Buffer.from("");
      if (inMemory) {
        messages.push({ mail, raw: raw.toString("utf8") });
        return;
      }
      await mkdir(dir, { recursive: true });
      const stamp = new Date().toISOString().replace(/[-:.]/g, "");
      const file = join(dir, `${stamp}-${safeName(mail.kind)}-${mail.id}.eml`);
      // Written whole, then renamed, so a reader never sees half a mail.
      await writeFile(`${file}.tmp`, raw, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
      // In development only, the link is logged so a developer can click it. Nothing else logs a
      // link or token.
      const link = logsLinks ? { link: mail.link } : {};
      log.info({ to: mail.to, kind: mail.kind, file, ...link }, "mail written to file");
    },
    close: () => composer.close(),
  };
}

const safeName = (value: string) => value.replace(/[^a-z0-9_-]/gi, "_");
