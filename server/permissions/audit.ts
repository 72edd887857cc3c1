import type { Kysely } from "kysely";
import { recordAudit } from "../../db/audit.ts";
import type { Database } from "../../db/database.ts";
import type { Caller } from "../auth/authenticate.ts";

/** Records an admin action by the caller; `changes` holds new values only, never secrets. */
export const audit = (
  ctx: { db: Kysely<Database>; user: Caller },
  action: string,
  target: { userId?: number; organizationId?: number },
  changes?: Record<string, unknown>,
) =>
  recordAudit(ctx.db, {
    actorId: ctx.user.id,
    action,
    ...(target.userId !== undefined && { targetUserId: target.userId }),
    ...(target.organizationId !== undefined && { targetOrganizationId: target.organizationId }),
    ...(changes && { changes: withoutUndefined(changes) }),
  });

const withoutUndefined = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
