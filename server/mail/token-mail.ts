import type { Kysely, Transaction } from "kysely";
import type { Database, EmailTokenKind } from "../../db/database.ts";
import { replaceEmailToken, secondsSinceLastToken } from "../../db/email-tokens.ts";
import { enqueueMail } from "../../db/outbox.ts";
import { hashToken, randomToken } from "../auth/opaque-tokens.ts";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";

/** How long each emailed link works, and the page of APP_URL it opens. */
export const EMAIL_TOKENS: Record<EmailTokenKind, { ttlSeconds: number; path: string }> = {
  verification: { ttlSeconds: 24 * 3600, path: "/verify-email" },
  email_change: { ttlSeconds: 24 * 3600, path: "/verify-email" },
  invitation: { ttlSeconds: 7 * 24 * 3600, path: "/accept-invitation" },
  password_reset: { ttlSeconds: 3600, path: "/reset-password" },
};

const REISSUE_INTERVAL_SECONDS = 60;

type MailConfig = Pick<Config, "APP_URL" | "PUBLIC_URL">;

/**
 * Issues a fresh single-use token (replacing the previous one of its kind) and queues the mail
 * that carries it, both in the caller's transaction. Links are built from APP_URL only.
 */
export async function queueTokenMail(
  tx: Transaction<Database>,
  config: MailConfig,
  mail: {
    kind: EmailTokenKind;
    user: { id: number; first_name: string };
    recipient: string;
    newEmail?: string;
  },
): Promise<void> {
  const token = randomToken();
  const { ttlSeconds, path } = EMAIL_TOKENS[mail.kind];
  await replaceEmailToken(tx, {
    userId: mail.user.id,
    kind: mail.kind,
    tokenHash: hashToken(token),
    ttlSeconds,
    ...(mail.newEmail && { newEmail: mail.newEmail }),
  });
  const link = `${config.APP_URL}${path}?token=${encodeURIComponent(token)}`;
  await enqueueMail(
    tx,
    {
      userId: mail.user.id,
      kind: mail.kind,
      recipient: mail.recipient,
      payload: { link, firstName: mail.user.first_name, expiresInSeconds: ttlSeconds },
    },
    new URL(config.PUBLIC_URL).hostname,
  );
}

/** A second reissue of the same kind within 60 s is refused (429), unless RATE_LIMIT=off. */
export async function requireReissueAllowed(
  db: Kysely<Database>,
  config: Pick<Config, "RATE_LIMIT">,
  userId: number,
  kind: EmailTokenKind,
): Promise<void> {
  if (config.RATE_LIMIT === "off") return;
  const age = await secondsSinceLastToken(db, userId, kind);
  if (age !== undefined && age < REISSUE_INTERVAL_SECONDS) {
    throw new AppError("RATE_LIMITED", "A mail of this kind was sent less than a minute ago", {
      retryAfter: Math.max(1, Math.ceil(REISSUE_INTERVAL_SECONDS - age)),
    });
  }
}
