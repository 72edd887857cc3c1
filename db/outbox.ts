import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./database.ts";
import { notifyMailQueued } from "./outbox-notify.ts";

export type OutgoingMail = {
  userId: number | null;
  kind: string;
  recipient: string;
  payload: Record<string, unknown>;
};

/**
 * Queues a mail in the caller's transaction: it is sent only if the change that caused it
 * commits, and wakes the mail worker at commit. The Message-ID is fixed now so a resend after a
 * crash can be de-duplicated.
 */
export async function enqueueMail(
  db: Kysely<Database>,
  mail: OutgoingMail,
  domain: string,
): Promise<void> {
  await db
    .insertInto("mail_outbox")
    .values({
      user_id: mail.userId,
      kind: mail.kind,
      recipient: mail.recipient,
      payload: JSON.stringify(mail.payload),
      message_id: `<${randomUUID()}@${domain}>`,
    })
    .execute();
  await notifyMailQueued(db);
}
