import { z } from "zod";
import { listLiveSessions } from "../../db/sessions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { ZNoInput } from "../shared-schema.ts";

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
  .input(ZNoInput)
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
