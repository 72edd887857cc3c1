import { type Kysely, sql, type Transaction } from "kysely";
import { AppError } from "../server/errors/api-errors.ts";
import { authStateChanged } from "./auth-state.ts";
import type { Database, NewUser, UserRow, UserUpdate } from "./database.ts";
import { uniqueViolation } from "./unique-violation.ts";

const TAKEN: Record<string, AppError> = {
  users_email_key: new AppError("EMAIL_TAKEN", "That email is already in use"),
  users_username_key: new AppError("USERNAME_TAKEN", "That username is already in use"),
};

/** Runs a write and turns a uniqueness race into the contract's 409. */
async function mapTaken<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    const taken = TAKEN[uniqueViolation(error) ?? ""];
    if (taken) throw new AppError(taken.apiCode, taken.message, { cause: error });
    throw error;
  }
}

export const insertUser = (db: Kysely<Database>, user: NewUser): Promise<UserRow> =>
  mapTaken(db.insertInto("users").values(user).returningAll().executeTakeFirstOrThrow());

/** What `findAuthState` reads from a user: changing one of them changes the caller's rights. */
const AUTH_FIELDS = ["role", "status", "email", "username", "token_version"] as const;

export async function updateUser(
  db: Kysely<Database>,
  id: number,
  patch: UserUpdate,
): Promise<UserRow | undefined> {
  const updated = await mapTaken(
    db
      .updateTable("users")
      .set({ ...patch, updated_at: sql`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst(),
  );
  if (AUTH_FIELDS.some((field) => patch[field] !== undefined)) authStateChanged(id);
  return updated;
}

/**
 * Soft-deletes a user who is not deleted yet, in one statement: among concurrent deletes of the
 * same user exactly one gets `true` (the others wait for it and then match no row).
 */
export async function softDeleteUser(db: Kysely<Database>, id: number): Promise<boolean> {
  const row = await db
    .updateTable("users")
    .set((eb) => ({
      status: "deleted",
      status_before_delete: eb.ref("status"),
      deleted_at: sql`now()`,
      updated_at: sql`now()`,
    }))
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .returning("id")
    .executeTakeFirst();
  if (row) authStateChanged(id);
  return row !== undefined;
}

/**
 * Restores a soft-deleted user to the status it had, in one statement; undefined when it is
 * not deleted (any more). A newer account holding its email or username gives the 409.
 */
export async function restoreUser(db: Kysely<Database>, id: number): Promise<UserRow | undefined> {
  const row = await mapTaken(
    db
      .updateTable("users")
      .set({
        status: sql`coalesce(status_before_delete, 'active')`,
        status_before_delete: null,
        deleted_at: null,
        updated_at: sql`now()`,
      })
      .where("id", "=", id)
      .where("deleted_at", "is not", null)
      .returningAll()
      .executeTakeFirst(),
  );
  if (row) authStateChanged(id);
  return row;
}

/** The user's row, locked until the transaction ends: for changes decided on its current state. */
export const lockUser = (tx: Transaction<Database>, id: number): Promise<UserRow | undefined> =>
  tx.selectFrom("users").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();

export const findUserById = (db: Kysely<Database>, id: number): Promise<UserRow | undefined> =>
  db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();

/** Among users not deleted, case-insensitively (the unique indexes' expression). */
export const findUserByUsername = (
  db: Kysely<Database>,
  username: string,
): Promise<UserRow | undefined> =>
  db
    .selectFrom("users")
    .selectAll()
    .where(sql`lower(username)`, "=", username.toLowerCase())
    .where("deleted_at", "is", null)
    .executeTakeFirst();

export const findUserByEmail = (
  db: Kysely<Database>,
  email: string,
): Promise<UserRow | undefined> =>
  db
    .selectFrom("users")
    .selectAll()
    .where(sql`lower(email)`, "=", email.toLowerCase())
    .where("deleted_at", "is", null)
    .executeTakeFirst();

/** Usernames in use (lower-cased) that start with the given prefix. */
export async function usernamesStartingWith(
  db: Kysely<Database>,
  prefix: string,
): Promise<Set<string>> {
  const rows = await db
    .selectFrom("users")
    .select(sql<string>`lower(username)`.as("name"))
    .where(sql`lower(username)`, "like", `${prefix.replace(/[\\%_]/g, "\\$&")}%`)
    .where("deleted_at", "is", null)
    .execute();
  return new Set(rows.map((row) => row.name));
}

/** Ends every access token issued so far (password change, suspension, deletion…). */
export async function bumpTokenVersion(db: Kysely<Database>, id: number): Promise<void> {
  await db
    .updateTable("users")
    .set({ token_version: sql`token_version + 1`, updated_at: sql`now()` })
    .where("id", "=", id)
    .execute();
  authStateChanged(id);
}
