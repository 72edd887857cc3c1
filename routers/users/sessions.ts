import { z } from "zod";
import { listLiveSessions, revokeSession } from "../../db/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { success, ZId, ZSuccess } from "./user-schema.ts";

const ZSession = z
  .object({
    id: z.number().int(),
    current: z.boolean(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: "Session" });

export const listSessionsRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/me/sessions",
      tags: ["auth"],
      summary: "My live sessions",
    },
  })
  .input(z.strictObject({}).optional())
  .output(z.object({ sessions: z.array(ZSession) }))
  .query(async ({ ctx }) => {
    const rows = await listLiveSessions(ctx.db, ctx.user.id);
    return {
      sessions: rows.map((row) => ({
        id: row.id,
        current: row.id === ctx.user.sessionId,
        userAgent: row.user_agent,
        ip: row.ip,
        createdAt: row.created_at.toISOString(),
        lastUsedAt: row.last_used_at.toISOString(),
        expiresAt: row.expires_at.toISOString(),
      })),
    };
  });

export const endSessionRoute = authedProcedure
  .meta({
    openapi: {
      method: "DELETE",
      path: "/users/me/sessions/{id}",
      tags: ["auth"],
      summary: "End one of my sessions (its tokens stop working at once)",
    },
    errors: ["NOT_FOUND"],
  })
  .input(z.strictObject({ id: ZId }))
  .output(ZSuccess)
  .mutation(async ({ ctx, input }) => {
    const result = await revokeSession(ctx.db, input.id, ctx.user.id);
    if (result.numUpdatedRows === 0n) throw new AppError("NOT_FOUND", "No such live session");
    return success("Session ended");
  });
