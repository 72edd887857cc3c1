import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";

/** One primary-key lookup per request: the user's current state and whether the session lives. */
export function findAuthState(db: Kysely<Database>, userId: number, sessionId: number) {
  return db
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
      sql<boolean>`coalesce(s.revoked_at is null and s.expires_at > now(), false)`.as(
        "session_active",
      ),
    ])
    .where("u.id", "=", userId)
    .executeTakeFirst();
}
