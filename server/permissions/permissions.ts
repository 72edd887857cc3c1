import type { Kysely } from "kysely";
import type { Database, Role } from "../../db/database.ts";
import type { UsersCondition } from "../../db/user-list.ts";
import { findUserById, findUserByUsername, type UserRow } from "../../db/users.ts";
import { isVisibleToUser, visibleToUser } from "../../db/visibility.ts";
import type { Caller } from "../auth/authenticate.ts";
import { AppError } from "../errors/api-errors.ts";

/**
 * Who may do what, in one place. The role check comes first (403 UNAUTHORIZED whatever the
 * target); a target the caller may not see is then a 404 USER_NOT_FOUND, never a 403.
 */

const RANK: Record<Role, number> = { User: 0, Admin: 1, AppAdmin: 2 };

const forbidden = () => new AppError("UNAUTHORIZED", "Your role does not allow this operation");

export const userNotFound = () => new AppError("USER_NOT_FOUND", "User not found");

export const isAdmin = (caller: Pick<Caller, "role">) => RANK[caller.role] >= RANK.Admin;

export function requireRole(caller: Pick<Caller, "role">, minimum: Role): void {
  if (RANK[caller.role] < RANK[minimum]) throw forbidden();
}

/** Admins act on Users; only an AppAdmin acts on an Admin or AppAdmin. */
export function requireMayManage(caller: Pick<Caller, "role">, target: { role: Role }): void {
  if (target.role !== "User" && caller.role !== "AppAdmin") throw forbidden();
}

/** Only an AppAdmin gives a role other than User. */
export function requireMayGrant(caller: Pick<Caller, "role">, role: Role): void {
  if (role !== "User" && caller.role !== "AppAdmin") throw forbidden();
}

/** Self, or an admin (who may manage that user's role). */
export function requireSelfOrAdmin(caller: Caller, targetId: number): void {
  if (caller.id !== targetId) requireRole(caller, "Admin");
}

/** The list filter for the caller's visibility; undefined when they see everyone. */
export function visibilityFor(caller: Caller): UsersCondition | undefined {
  return isAdmin(caller) ? undefined : visibleToUser(caller.id);
}

/**
 * Throws USER_NOT_FOUND unless the caller may see the user: admins see everyone (deleted users
 * included, so they can restore them); a User sees self and members of accessible organizations.
 */
export async function requireVisible(
  db: Kysely<Database>,
  caller: Caller,
  target: { id: number; deleted_at: Date | null } | undefined,
): Promise<void> {
  if (!target) throw userNotFound();
  if (isAdmin(caller) || caller.id === target.id) return;
  if (target.deleted_at !== null || !(await isVisibleToUser(db, caller.id, target.id))) {
    throw userNotFound();
  }
}

/** The target of an admin operation: visible to the caller, and of a role they may manage. */
export async function loadManagedUser(
  db: Kysely<Database>,
  caller: Caller,
  targetId: number,
): Promise<UserRow> {
  const target = await findUserById(db, targetId);
  await requireVisible(db, caller, target);
  requireMayManage(caller, target as UserRow);
  return target as UserRow;
}

/** A user the caller may see, by id or by username. */
export async function loadVisibleUser(
  db: Kysely<Database>,
  caller: Caller,
  target: { id: number } | { username: string },
): Promise<UserRow> {
  const user =
    "id" in target
      ? await findUserById(db, target.id)
      : await findUserByUsername(db, target.username);
  await requireVisible(db, caller, user);
  return user as UserRow;
}
