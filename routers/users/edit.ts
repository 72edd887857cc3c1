import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import { lockUser, type UserRow, updateUser } from "../../db/users.ts";
import { refuseTaken } from "../../server/accounts/taken.ts";
import { cutOffAccess } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import {
  loadManagedUser,
  requireMayGrant,
  requireMayManage,
  userNotFound,
} from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { toUser, ZName, ZRole, ZUser, ZUsername } from "./user-schema.ts";

export const ZEditUserInput = z.strictObject({
  id: ZId,
  firstName: ZName.optional(),
  lastName: ZName.optional(),
  username: ZUsername.optional(),
  status: z.enum(["active", "suspended"]).optional(),
  role: ZRole.optional().meta({ description: "AppAdmin only" }),
});

type TEditUserInput = z.infer<typeof ZEditUserInput>;

const COLUMNS = {
  firstName: "first_name",
  lastName: "last_name",
  username: "username",
  status: "status",
  role: "role",
} as const satisfies Record<Exclude<keyof TEditUserInput, "id">, keyof UserRow>;

/** The requested fields whose value differs from the row's. */
function changedFields(row: UserRow, input: TEditUserInput) {
  const changes: Partial<Omit<TEditUserInput, "id">> = {};
  for (const [field, column] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
    const value = input[field];
    if (value !== undefined && value !== row[column as keyof UserRow]) {
      Object.assign(changes, { [field]: value });
    }
  }
  return changes;
}

export const editUserRoute = adminProcedure
  .meta({
    openapi: {
      method: "PATCH",
      path: "/users/{id}",
      tags: ["users"],
      summary: "Edit a user",
      description:
        "Fields that already have the requested value are left alone; an edit that changes nothing writes no audit entry.",
    },
    errors: ["UNAUTHORIZED", "USER_NOT_FOUND", "USERNAME_TAKEN", "CONFLICT"],
  })
  .input(ZEditUserInput)
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    await loadManagedUser(ctx.db, ctx.user, input.id);
    if (input.role !== undefined) requireMayGrant(ctx.user, input.role);
    const user = await ctx.db.transaction().execute(async (tx) => {
      // Decided on the row as it is now, locked: concurrent edits, deletes and restores of this
      // user wait, so a stale read can neither revive a deleted user nor audit a change twice.
      const current = await lockUser(tx, input.id);
      if (!current) throw userNotFound();
      requireMayManage(ctx.user, current);
      const changes = changedFields(current, input);
      const changesAccess = changes.status !== undefined || changes.role !== undefined;
      if (changesAccess && current.id === ctx.user.id) {
        throw new AppError("CONFLICT", "You cannot change your own role or status");
      }
      if (changes.status !== undefined && current.status === "deleted") {
        throw new AppError("CONFLICT", "The user is deleted; restore it first");
      }
      if (Object.keys(changes).length === 0) return current;
      const updated = await refuseTaken(
        updateUser(tx, current.id, {
          first_name: changes.firstName,
          last_name: changes.lastName,
          username: changes.username,
          status: changes.status,
          role: changes.role,
        }),
      );
      await audit({ ...ctx, db: tx }, "user.edit", { userId: current.id }, changes);
      await recordUserEvent(tx, "user.updated", current.id, Object.keys(changes));
      if (changes.status === "suspended") await cutOffAccess(tx, current.id);
      return updated;
    });
    if (!user) throw userNotFound();
    return toUser(user);
  });
