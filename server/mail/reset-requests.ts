import type { Kysely } from "kysely";
import type { Database, UserStatus } from "../../db/database.ts";
import { enqueueMail, takeQueuedRow } from "../../db/mail-outbox.ts";
import { findUserByEmail } from "../../db/users.ts";
import type { Config } from "../config.ts";
import { queueTokenMail } from "./token-mail.ts";

/**
 * The outbox kind of a password-reset request: not a mail but a job for the mail worker, which
 * looks the address up and, for an account that may reset, issues the token and queues the mail.
 */
export const RESET_REQUEST_KIND = "password_reset_request";

/** Statuses whose owner may reset the password by mail (a reset also proves the mailbox). */
export const RESETTABLE: readonly UserStatus[] = ["pending", "invited", "active"];

/**
 * The request path's whole work, the same for every address: one outbox row, committed before
 * the caller is answered (so a process dying after the 202 loses nothing). Whether the address
 * belongs to an account is decided later by the worker, off the request path, so the answer's
 * timing cannot tell.
 */
export async function queueResetRequest(
  db: Kysely<Database>,
  config: Pick<Config, "PUBLIC_URL">,
  email: string,
): Promise<void> {
  await enqueueMail(
    db,
    { userId: null, kind: RESET_REQUEST_KIND, recipient: email, payload: {} },
    new URL(config.PUBLIC_URL).hostname,
  );
}

/**
 * The worker's half: in one transaction, the request row is removed (so it is resolved once,
 * and the asked-for address is not kept) and, for a resettable account, a fresh reset token is
 * issued and its mail queued. A crash before the commit leaves the request to be retried.
 */
export async function resolveResetRequest(
  db: Kysely<Database>,
  config: Pick<Config, "APP_URL" | "PUBLIC_URL">,
  request: { id: number; recipient: string },
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (!(await takeQueuedRow(tx, request.id))) return;
    const user = await findUserByEmail(tx, request.recipient);
    if (!user || !RESETTABLE.includes(user.status)) return;
    await queueTokenMail(tx, config, { kind: "password_reset", user, recipient: user.email });
  });
}
