import type { Transaction } from "kysely";
import type { Database, EmailTokenKind } from "../../db/database.ts";
import { replaceEmailToken } from "../../db/email-tokens.ts";
import { enqueueMail } from "../../db/mail-outbox.ts";
import type { FirstTokenMail } from "../../db/users.ts";
import { hashToken, randomToken } from "../auth/opaque-tokens.ts";
import type { Config } from "../config.ts";
import type { Context } from "../context.ts";
import { enforceRate, type RateRule } from "../limits/rate-limit.ts";

/** How long each emailed link works, and the page of APP_URL it opens. */
const EMAIL_TOKENS: Record<EmailTokenKind, { ttlSeconds: number; path: string }> = {
  verification: { ttlSeconds: 24 * 3600, path: "/verify-email" },
  email_change: { ttlSeconds: 24 * 3600, path: "/verify-email" },
  invitation: { ttlSeconds: 7 * 24 * 3600, path: "/accept-invitation" },
  password_reset: { ttlSeconds: 3600, path: "/reset-password" },
};

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

/**
 * A new user's first token and its mail, for insertUserWithTokenMail (db/users.ts), which stores
 * the user, the token and the mail in one statement: what queueTokenMail does, for a user whose
 * id the same statement makes (and who has no earlier token to replace).
 */
export function firstTokenMail(
  config: MailConfig,
  kind: EmailTokenKind,
  user: { firstName: string },
): FirstTokenMail {
  const token = randomToken();
  const { ttlSeconds, path } = EMAIL_TOKENS[kind];
  return {
    kind,
    tokenHash: hashToken(token),
    ttlSeconds,
    mail: {
      kind,
      payload: {
        link: `${config.APP_URL}${path}?token=${encodeURIComponent(token)}`,
        firstName: user.firstName,
        expiresInSeconds: ttlSeconds,
      },
    },
    domain: new URL(config.PUBLIC_URL).hostname,
  };
}

/** One mail of a kind per user per minute: a second reissue within 60 s is a 429. */
export const mailIntervalRule = (kind: EmailTokenKind): RateRule => ({
  name: `mail-${kind}`,
  limit: 1,
  windowSeconds: 60,
});

export const requireReissueAllowed = (
  ctx: Pick<Context, "limits" | "config">,
  userId: number,
  kind: EmailTokenKind,
) => enforceRate(ctx, mailIntervalRule(kind), String(userId));
