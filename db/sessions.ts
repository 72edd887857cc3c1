import { type Kysely, sql } from "kysely";
import { authStateChanged } from "./auth-state.ts";
import type { Database } from "./database.ts";
import { recordEvents } from "./events.ts";

/**
 * A login in one statement (so one round trip and one commit): the session, its first refresh
 * token, and the user's last-login time.
 */
export async function createLoginSession(
  db: Kysely<Database>,
  login: {
    userId: number;
    userAgent: string | undefined;
    ip: string;
    ttlSeconds: number;
    refreshTokenHash: string;
  },
): Promise<{ id: number; authenticatedAt: Date }> {
  const row = await db
    .with("session", (q) =>
      q
        .insertInto("sessions")
        .values({
          user_id: login.userId,
          user_agent: login.userAgent?.slice(0, 512) ?? null,
          ip: login.ip,
          expires_at: sql`now() + make_interval(secs => ${login.ttlSeconds})`,
        })
        .returning(["id", "authenticated_at"]),
    )
    .with("token", (q) =>
      q
        .insertInto("refresh_tokens")
        .columns(["session_id", "token_hash"])
        .expression((eb) =>
          eb
            .selectFrom("session")
            .select(["session.id", eb.val(login.refreshTokenHash).as("hash")]),
        ),
    )
    .with("login", (q) =>
      q.updateTable("users").set({ last_login_at: sql`now()` }).where("id", "=", login.userId),
    )
    .selectFrom("session")
    .select(["id", "authenticated_at"])
    .executeTakeFirstOrThrow();
  return { id: row.id, authenticatedAt: row.authenticated_at };
}

export const addRefreshToken = (db: Kysely<Database>, sessionId: number, tokenHash: string) =>
  db
    .insertInto("refresh_tokens")
    .values({ session_id: sessionId, token_hash: tokenHash })
    .execute();

/** A refresh token with its session's state. */
export const findRefreshToken = (db: Kysely<Database>, tokenHash: string) =>
  db
    .selectFrom("refresh_tokens as r")
    .innerJoin("sessions as s", "s.id", "r.session_id")
    .select([
      "r.session_id",
      "r.spent_at",
      "s.user_id",
      "s.authenticated_at",
      sql<boolean>`s.revoked_at is null and s.expires_at > now()`.as("session_active"),
    ])
    .where("r.token_hash", "=", tokenHash)
    .executeTakeFirst();

/** Spends a token once; false when it was already spent (a concurrent refresh won). */
export async function spendRefreshToken(db: Kysely<Database>, tokenHash: string): Promise<boolean> {
  const result = await db
    .updateTable("refresh_tokens")
    .set({ spent_at: sql`now()` })
    .where("token_hash", "=", tokenHash)
    .where("spent_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Whether a spent refresh token was spent within the last `graceSeconds` and its successor (by
 * hash) is still the live, unspent token of the same live session: a concurrent refresh that
 * lost the race, not a replay.
 */
export async function isFreshlyRotated(
  db: Kysely<Database>,
  spent: { tokenHash: string; successorHash: string; sessionId: number; graceSeconds: number },
): Promise<boolean> {
  if (spent.graceSeconds <= 0) return false;
  const row = await db
    .selectFrom("refresh_tokens as spent")
    .innerJoin("refresh_tokens as next", "next.session_id", "spent.session_id")
    .innerJoin("sessions as s", "s.id", "spent.session_id")
    .select("spent.session_id")
    .where("spent.token_hash", "=", spent.tokenHash)
    .where("spent.session_id", "=", spent.sessionId)
    .where("spent.spent_at", ">", sql<Date>`now() - make_interval(secs => ${spent.graceSeconds})`)
    .where("next.token_hash", "=", spent.successorHash)
    .where("next.spent_at", "is", null)
    .where("s.revoked_at", "is", null)
    .where("s.expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
  return row !== undefined;
}

/** Records a fresh proof of identity in a live session (step-up); its new time, or undefined. */
export async function markSessionAuthenticated(
  db: Kysely<Database>,
  sessionId: number,
  userId: number,
): Promise<Date | undefined> {
  const row = await db
    .updateTable("sessions")
    .set({ authenticated_at: sql`now()` })
    .where("id", "=", sessionId)
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .returning("authenticated_at")
    .executeTakeFirst();
  return row?.authenticated_at;
}

export const touchSession = (db: Kysely<Database>, sessionId: number) =>
  db
    .updateTable("sessions")
    .set({ last_used_at: sql`now()` })
    .where("id", "=", sessionId)
    .execute();

/** Ends one of the user's sessions (none when it is another user's). */
export async function revokeSession(db: Kysely<Database>, sessionId: number, userId: number) {
  const revoked = await inTransaction(db, async (tx) => {
    const rows = await tx
      .updateTable("sessions")
      .set({ revoked_at: sql`now()` })
      .where("id", "=", sessionId)
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .returning("id")
      .execute();
    await recordSessionsRevoked(tx, userId, rows);
    return rows.length;
  });
  authStateChanged(db, userId);
  return { numUpdatedRows: BigInt(revoked) };
}

/** Ends every live session of the user, or every one but `exceptSessionId`. */
export async function revokeUserSessions(
  db: Kysely<Database>,
  userId: number,
  exceptSessionId?: number,
) {
  const rows = await db
    .updateTable("sessions")
    .set({ revoked_at: sql`now()` })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .$if(exceptSessionId !== undefined, (q) => q.where("id", "!=", exceptSessionId as number))
    .returning("id")
    .execute();
  await recordSessionsRevoked(db, userId, rows);
  authStateChanged(db, userId);
}

/** One `session.revoked` event per ended session, in the caller's transaction. */
const recordSessionsRevoked = (db: Kysely<Database>, userId: number, sessions: { id: number }[]) =>
  recordEvents(
    db,
    sessions.map((session) => ({
      type: "session.revoked" as const,
      subject: `user:${userId}`,
      data: { sessionId: session.id, userId },
    })),
  );

/** Runs `work` in the caller's transaction, or in one of its own when there is none. */
const inTransaction = <T>(db: Kysely<Database>, work: (tx: Kysely<Database>) => Promise<T>) =>
  db.isTransaction ? work(db) : db.transaction().execute(work);

export const listLiveSessions = (db: Kysely<Database>, userId: number) =>
  db
    .selectFrom("sessions")
    .select(["id", "user_agent", "ip", "created_at", "last_used_at", "expires_at"])
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql<Date>`now()`)
    .orderBy("last_used_at", "desc")
    .execute();
