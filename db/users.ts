import {
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  sql,
  type Transaction,
} from "kysely";
import { authStateChanged } from "./auth-state.ts";
import { compiledOnce } from "./compiled-once.ts";
import type { Database, EmailTokenKind, NewUser, UsersTable, UserUpdate } from "./database.ts";
import { MAIL_CHANNEL, mailQueuedHere, newMessageId, type OutgoingMail } from "./mail-outbox.ts";
import { uniqueViolation } from "./unique-violation.ts";

/** What the API shows of a user (routers/users toUser's input, the listing's rows). */
export const PUBLIC_USER_COLUMNS = [
  "id",
  "email",
  "username",
  "first_name",
  "last_name",
  "role",
  "status",
  "email_verified",
  "last_login_at",
  "created_at",
  "updated_at",
] as const;
export type PublicUserRow = Pick<Selectable<UsersTable>, (typeof PUBLIC_USER_COLUMNS)[number]>;

/**
 * What every user query returns: the public columns and the state the service decides on.
 * Never password_hash: it leaves db/ only through `findCredentials`.
 */
const USER_COLUMNS = [...PUBLIC_USER_COLUMNS, "token_version", "deleted_at"] as const;
export type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;
export type UserCredentials = UserRow & Pick<Selectable<UsersTable>, "password_hash">;

/** The unique keys a user write can collide with (another account holds the value). */
export type UserKey = "email" | "username";
const UNIQUE_KEYS: Record<string, UserKey> = {
  users_email_key: "email",
  users_username_key: "username",
};

/**
 * The key a failed insert, update or restore collided with, when that is why it failed: the
 * partial unique indexes settle races that the callers' earlier lookups cannot.
 */
export function takenUserKey(error: unknown): UserKey | undefined {
  const constraint = uniqueViolation(error);
  return constraint === undefined ? undefined : UNIQUE_KEYS[constraint];
}

/** Throws the driver's error when the email or username is taken (`takenUserKey` names it). */
export const insertUser = (db: Kysely<Database>, user: NewUser): Promise<UserRow> =>
  db.insertInto("users").values(user).returning(USER_COLUMNS).executeTakeFirstOrThrow();

/** A new user's first email token and the mail that carries it (see insertUserWithTokenMail). */
export type FirstTokenMail = {
  kind: EmailTokenKind;
  tokenHash: string;
  ttlSeconds: number;
  mail: Omit<OutgoingMail, "userId" | "recipient">;
  /** The Message-ID's domain. */
  domain: string;
};

/**
 * A new user, its email token and the mail carrying it, in one statement (one round trip, no
 * transaction needed: a statement is atomic): no user without its mail, no mail for a user that
 * was not stored. A new user has no earlier token to replace. Wakes the mail worker at commit,
 * as enqueueMail does. Throws the driver's error when the email or username is taken.
 */
export async function insertUserWithTokenMail(
  db: Kysely<Database>,
  user: NewUser,
  first: FirstTokenMail,
): Promise<UserRow> {
  const { notified: _, ...row } = await db
    .with("u", (q) => q.insertInto("users").values(user).returning(USER_COLUMNS))
    .with("t", (q) =>
      q
        .insertInto("email_tokens")
        .columns(["user_id", "kind", "token_hash", "new_email", "expires_at"])
        .expression((eb) =>
          eb
            .selectFrom("u")
            .select([
              "u.id",
              sql.val(first.kind).as("kind"),
              sql.val(first.tokenHash).as("token_hash"),
              sql<null>`null`.as("new_email"),
              sql<Date>`now() + make_interval(secs => ${first.ttlSeconds})`.as("expires_at"),
            ]),
        ),
    )
    .with("m", (q) =>
      q
        .insertInto("mail_outbox")
        .columns(["user_id", "kind", "recipient", "payload", "message_id"])
        .expression((eb) =>
          eb
            .selectFrom("u")
            .select([
              "u.id",
              sql.val(first.mail.kind).as("kind"),
              "u.email",
              sql<string>`${JSON.stringify(first.mail.payload)}::jsonb`.as("payload"),
              sql.val(newMessageId(first.domain)).as("message_id"),
            ]),
        ),
    )
    .selectFrom("u")
    .selectAll("u")
    .select(sql<string>`pg_notify(${MAIL_CHANNEL}, '')`.as("notified"))
    .executeTakeFirstOrThrow();
  mailQueuedHere(db);
  return row as UserRow;
}

/** What `findAuthState` reads from a user: changing one of them changes the caller's rights. */
const AUTH_FIELDS = ["role", "status", "email", "username", "token_version"] as const;

/** Throws the driver's error when the email or username is taken (`takenUserKey` names it). */
export async function updateUser(
  db: Kysely<Database>,
  id: number,
  patch: UserUpdate,
): Promise<UserRow | undefined> {
  const updated = await db
    .updateTable("users")
    .set({ ...patch, updated_at: sql`now()` })
    .where("id", "=", id)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
  if (AUTH_FIELDS.some((field) => patch[field] !== undefined)) authStateChanged(db, id);
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
  if (row) authStateChanged(db, id);
  return row !== undefined;
}

/**
 * Restores a soft-deleted user to the status it had, in one statement; undefined when it is
 * not deleted (any more). Throws the driver's error when a newer account holds its email or
 * username (`takenUserKey` names it).
 */
export async function restoreUser(db: Kysely<Database>, id: number): Promise<UserRow | undefined> {
  const row = await db
    .updateTable("users")
    .set({
      status: sql`coalesce(status_before_delete, 'active')`,
      status_before_delete: null,
      deleted_at: null,
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .where("deleted_at", "is not", null)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
  if (row) authStateChanged(db, id);
  return row;
}

type UserLookup = { id: number } | { email: string };

/**
 * By id, whatever the user's state; by email among users not deleted, case-insensitively (the
 * unique index's expression).
 */
const whereUser = (by: UserLookup) => (eb: ExpressionBuilder<Database, "users">) =>
  "id" in by
    ? eb("id", "=", by.id)
    : eb.and([eb(sql`lower(email)`, "=", by.email.toLowerCase()), eb("deleted_at", "is", null)]);

const userByIdForUpdate = compiledOnce((db, id: number) =>
  db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id).forUpdate(),
);

/** The user's row, locked until the transaction ends: for changes decided on its current state. */
export const lockUser = async (
  tx: Transaction<Database>,
  id: number,
): Promise<UserRow | undefined> => (await userByIdForUpdate(tx, id))[0];

// Compiled once (compiled-once.ts): every request that names a user runs one of these two.
const userById = compiledOnce((db, id: number) =>
  db.selectFrom("users").select(USER_COLUMNS).where("id", "=", id),
);

export const findUserById = async (
  db: Kysely<Database>,
  id: number,
): Promise<UserRow | undefined> => (await userById(db, id))[0];

/** Among users not deleted, case-insensitively. */
export const findUserByEmail = (
  db: Kysely<Database>,
  email: string,
): Promise<UserRow | undefined> =>
  db.selectFrom("users").select(USER_COLUMNS).where(whereUser({ email })).executeTakeFirst();

/**
 * The one query that reads password_hash: for login (by email) and the checks of a signed-in
 * user's current password (by id).
 */
export const findCredentials = (
  db: Kysely<Database>,
  by: UserLookup,
): Promise<UserCredentials | undefined> =>
  db
    .selectFrom("users")
    .select([...USER_COLUMNS, "password_hash"])
    .where(whereUser(by))
    .executeTakeFirst();

/** Among users not deleted, case-insensitively (the unique index's expression). */
const userByLowerUsername = compiledOnce((db, lowerUsername: string) =>
  db
    .selectFrom("users")
    .select(USER_COLUMNS)
    .where(sql`lower(username)`, "=", lowerUsername)
    .where("deleted_at", "is", null),
);

export const findUserByUsername = async (
  db: Kysely<Database>,
  username: string,
): Promise<UserRow | undefined> => (await userByLowerUsername(db, username.toLowerCase()))[0];

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
  authStateChanged(db, id);
}

/**
 * AppAdmins not deleted nor suspended. With `lock`, their rows stay locked until the transaction
 * ends, so two AppAdmins deleting themselves at once cannot both see the other remain.
 */
export async function countLiveAppAdmins(
  db: Kysely<Database>,
  options: { lock?: boolean } = {},
): Promise<number> {
  let query = db
    .selectFrom("users")
    .select("id")
    .where("role", "=", "AppAdmin")
    .where("deleted_at", "is", null)
    .where("status", "=", "active");
  if (options.lock) query = query.forUpdate();
  return (await query.execute()).length;
}

/**
 * The stored password hashes of these users: only for an AppAdmin's export that asked for them
 * explicitly (server/porting/export-users.ts), which is audited. Login reads `findCredentials`.
 */
export async function passwordHashesOf(
  db: Kysely<Database>,
  ids: readonly number[],
): Promise<Map<number, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom("users")
    .select(["id", "password_hash"])
    .where("id", "in", ids)
    .execute();
  return new Map(rows.map((row) => [row.id, row.password_hash]));
}
