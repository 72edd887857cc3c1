// The SQL the baseline server sends: the very statements the service's Kysely code produces for
// the bench's operations (captured from it; sql-check.ts re-captures them at every bench run and
// reports any difference), written out by hand so the baseline needs no query builder.

/** db/users.ts PUBLIC_USER_COLUMNS: what a listing reads. */
const USER_COLUMNS = `"id", "email", "username", "first_name", "last_name", "role", "status", "email_verified", "last_login_at", "created_at", "updated_at"`;
/** db/users.ts USER_COLUMNS: what the other user queries read (never password_hash). */
const USER_ROW_COLUMNS = `${USER_COLUMNS}, "token_version", "deleted_at"`;

/**
 * db/auth-state.ts findAuthState: $1 session id, $2 user id. The baseline runs it on every
 * request; the service, on PostgreSQL, only when the caller's state is not in memory.
 */
export const AUTH_STATE = `select "u"."id", "u"."role", "u"."status", "u"."email", "u"."username", "u"."token_version", case when s.revoked_at is null then s.expires_at end as "session_expires_at" from "users" as "u" left join "sessions" as "s" on "s"."id" = $1 and "s"."user_id" = "u"."id" where "u"."id" = $2`;

/** db/users.ts findUserById. */
export const USER_BY_ID = `select ${USER_ROW_COLUMNS} from "users" where "id" = $1`;

/** db/users.ts findUserByUsername: $1 the lower-cased username. */
export const USER_BY_USERNAME = `select ${USER_ROW_COLUMNS} from "users" where lower(username) = $1 and "deleted_at" is null`;

/** The listing's WHERE for each filter the bench sends ($1 is the filter's value). */
const WHERE = {
  emailEq: `(lower("email") = lower($1) and "deleted_at" is null)`,
  lastNameLike: `(lower("last_name") like lower($1) escape '\\' and "deleted_at" is null)`,
  emailLike: `(lower("email") like lower($1) escape '\\' and "deleted_at" is null)`,
};

const listCount = (where: string) => `select count(*)::int as "count" from "users" where ${where}`;
const listRows = (where: string, limit: string) =>
  `select ${USER_COLUMNS}, json_build_array("id") as "cursor_values" from "users" where ${where} order by "id" asc limit ${limit}`;

/**
 * db/user-list.ts findUserPage for an admin, ordered by id: [count, rows] for a first page; a
 * later page's count comes from its cursor, so it runs the rows alone.
 */
export const LIST = {
  emailEq: [listCount(WHERE.emailEq), listRows(WHERE.emailEq, "$2")],
  lastNameStartsWith: [listCount(WHERE.lastNameLike), listRows(WHERE.lastNameLike, "$2")],
  emailContains: [listCount(WHERE.emailLike), listRows(WHERE.emailLike, "$2")],
  /** No filter, continuing after a cursor: $1 the last id, $2 the limit. */
  after: [
    `select ${USER_COLUMNS}, json_build_array("id") as "cursor_values" from "users" where "deleted_at" is null and "id" > $1 order by "id" asc limit $2`,
  ],
} as const;

/** server/audit.ts recordAudit: $1 actor, $2 action, $3 target user, $4 organization, $5 changes. */
export const AUDIT_INSERT = `insert into "audit_log" ("actor_id", "action", "target_user_id", "target_organization_id", "changes") values ($1, $2, $3, $4, $5)`;

/** routers/users/edit.ts with only firstName: updateUser and the audit entry, in a transaction. */
export const PATCH_FIRST_NAME = [
  "begin",
  // The service locks the row and decides on it (a concurrent delete cannot be undone by an edit).
  `select ${USER_ROW_COLUMNS} from "users" where "id" = $1 for update`,
  `update "users" set "first_name" = $1, "updated_at" = now() where "id" = $2 returning ${USER_ROW_COLUMNS}`,
  AUDIT_INSERT,
  "commit",
] as const;

/** server/auth/sessions.ts rotateSession (the happy path), then findUserById. */
export const REFRESH = {
  find: `select "r"."session_id", "r"."spent_at", "s"."user_id", s.revoked_at is null and s.expires_at > now() as "session_active" from "refresh_tokens" as "r" inner join "sessions" as "s" on "s"."id" = "r"."session_id" where "r"."token_hash" = $1`,
  transaction: [
    "begin",
    `update "refresh_tokens" set "spent_at" = now() where "token_hash" = $1 and "spent_at" is null`,
    `insert into "refresh_tokens" ("session_id", "token_hash") values ($1, $2)`,
    `update "sessions" set "last_used_at" = now() where "id" = $1`,
    "commit",
  ],
} as const;

/** What /readyz runs. */
export const READY = "select 1 from kysely_migration limit 1";

/** Every statement the baseline sends for one request of each scenario, in order. */
export const BASELINE_STATEMENTS: Record<string, readonly string[]> = {
  "get-by-id-rest": [AUTH_STATE, USER_BY_ID],
  "get-by-id-trpc": [AUTH_STATE, USER_BY_ID],
  "get-by-name-rest": [AUTH_STATE, USER_BY_USERNAME],
  "list-email-eq": [AUTH_STATE, ...LIST.emailEq],
  "list-lastname-startswith-count": [AUTH_STATE, ...LIST.lastNameStartsWith],
  "list-email-contains": [AUTH_STATE, ...LIST.emailContains],
  "list-deep-nextlink": [AUTH_STATE, ...LIST.after],
  "patch-user": [AUTH_STATE, USER_BY_ID, ...PATCH_FIRST_NAME],
  refresh: [REFRESH.find, ...REFRESH.transaction, USER_BY_ID],
};
