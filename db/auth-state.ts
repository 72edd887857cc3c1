import { type Kysely, sql } from "kysely";
import { compiledOnce } from "./compiled-once.ts";
import type { Database } from "./database.ts";
import { databaseEvents } from "./database-events.ts";

/** Where the database announces a change to a user's auth state (payload: the user id). */
export const AUTH_STATE_CHANNEL = "auth_state";

/**
 * One primary-key lookup: the user's current state and how long the session lives. Every
 * authenticated request runs it (unless the auth memory answers), so it is compiled once.
 */
const authStateQuery = compiledOnce((db, userId: number, sessionId: number) =>
  db
    .selectFrom("users as u")
    .leftJoin("sessions as s", (join) =>
      join.on("s.id", "=", sessionId).onRef("s.user_id", "=", "u.id"),
    )
    .select([
      "u.id",
      "u.role",
      "u.status",
      "u.email",
      "u.username",
      "u.token_version",
      // Null when the session is unknown or ended; else when it expires.
      sql<Date | null>`case when s.revoked_at is null then s.expires_at end`.as(
        "session_expires_at",
      ),
    ])
    .where("u.id", "=", userId),
);

/** A user's current state and their session's, as one request's authentication needs them. */
export type AuthState = NonNullable<Awaited<ReturnType<typeof findAuthState>>>;

export async function findAuthState(db: Kysely<Database>, userId: number, sessionId: number) {
  return (await authStateQuery(db, userId, sessionId))[0];
}

/**
 * Tells this process's auth-state caches of this database at once that a user's role, status,
 * email, username, token version or a session changed (other processes learn it from the NOTIFY
 * the database's trigger sends at commit). Called by the few writes that change them.
 */
export function authStateChanged(db: Kysely<Database>, userId: number): void {
  databaseEvents(db).emit("authStateChanged", userId);
}

export function onAuthStateChanged(
  db: Kysely<Database>,
  listener: (userId: number) => void,
): () => void {
  const events = databaseEvents(db);
  events.on("authStateChanged", listener);
  return () => events.off("authStateChanged", listener);
}
