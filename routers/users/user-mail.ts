import { z } from "zod";
import { listUserMails } from "../../db/mail-outbox.ts";
import { findUserById } from "../../db/users.ts";
import { userNotFound } from "../../server/permissions/permissions.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";

const MAX_MAILS = 100;

export const ZUserMail = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    recipient: z.string(),
    status: z.enum(["queued", "sent", "abandoned"]),
    attempts: z.number().int().meta({ example: 1 }),
    createdAt: z.iso.datetime(),
    sentAt: z.iso.datetime().nullable(),
    lastError: z.string().nullable(),
  })
  .meta({ id: "UserMail" });

export const ZUserMails = z.object({ mails: z.array(ZUserMail) });

export const userMailRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/{id}/mail",
      tags: ["users"],
      summary: `The user's mails in the outbox, newest first (at most ${MAX_MAILS}; never their content)`,
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZUserMails)
  .query(async ({ ctx, input }) => {
    const user = await findUserById(ctx.db, input.id);
    if (!user) throw userNotFound();
    const rows = await listUserMails(ctx.db, user.id, MAX_MAILS);
    return {
      mails: rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        recipient: row.recipient,
        status: row.status,
        attempts: row.attempts,
        createdAt: row.created_at.toISOString(),
        sentAt: row.sent_at?.toISOString() ?? null,
        lastError: row.last_error,
      })),
    };
  });
