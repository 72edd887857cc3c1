import { type Kysely, sql } from "kysely";
import type { Database } from "./database.ts";
import { databaseEvents } from "./database-events.ts";
import { PUBLIC_USER_COLUMNS, type PublicUserRow } from "./users.ts";

export const EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deleted",
  "user.restored",
  "user.email_verified",
  "user.password_changed",
  "user.signed_in",
  "session.revoked",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "membership.created",
  "membership.updated",
  "membership.deleted",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What an event says: its subject's public fields, never a secret, hash or token. */
export type NewEvent = {
  type: EventType;
  /** `user:12`, `organization:3`, `membership:3:12`: deliveries keep this subject's order. */
  subject: string;
  data: Record<string, unknown>;
};

/** The channel the webhook worker LISTENs on (PostgreSQL). */
export const WEBHOOK_CHANNEL = "webhook_deliveries";

/**
 * Records events in the caller's transaction (so a rolled-back change emits nothing) and, in the
 * same statement, one pending delivery for each enabled webhook endpoint that asked for the
 * type. The feed position is drawn at commit (see the migration 2026-11-28T1650). Call it inside
 * the transaction of the change: on its own it is a transaction of one statement.
 */
export async function recordEvents(db: Kysely<Database>, events: readonly NewEvent[]) {
  if (events.length === 0) return;
  const rows = JSON.stringify(events);
  await sql`
    with recorded as (
      insert into events (type, subject, data)
      select e.type, e.subject, e.data
        from rows from (jsonb_to_recordset(${rows}::jsonb) as (type text, subject text, data jsonb))
             with ordinality as e(type, subject, data, n)
       order by e.n
      returning id, type, subject
    )
    insert into webhook_deliveries (endpoint_id, event_id, subject)
    select w.id, r.id, r.subject
      from recorded r join webhook_endpoints w on w.enabled and r.type = any(w.event_types)
     order by r.id, w.id`.execute(db);
  await notifyWebhooksQueued(db);
}

/**
 * Wakes the webhook workers once the caller's transaction commits (NOTIFY, to every process on
 * PostgreSQL; the in-process signal for PGlite, as the mail outbox does).
 */
export async function notifyWebhooksQueued(db: Kysely<Database>): Promise<void> {
  await sql`select pg_notify(${WEBHOOK_CHANNEL}, '')`.execute(db);
  databaseEvents(db).emit("webhooksQueued");
}

export const recordEvent = (db: Kysely<Database>, event: NewEvent) => recordEvents(db, [event]);

/** A user as the API shows it (routers/users toUser is this), the data of every user event. */
export const publicUser = (row: PublicUserRow) => ({
  id: row.id,
  email: row.email,
  username: row.username,
  firstName: row.first_name,
  lastName: row.last_name,
  status: row.status,
  role: row.role,
  emailVerified: row.email_verified,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  lastLoginAt: row.last_login_at?.toISOString() ?? null,
});

/** A user event whose data is `row` as stored (for writes that already hold the row). */
export const userEvent = (type: EventType, row: PublicUserRow): NewEvent => ({
  type,
  subject: `user:${row.id}`,
  data: publicUser(row),
});

/** A membership event; the subject is the membership (organization and user). */
export const membershipEvent = (
  type: Extract<EventType, `membership.${string}`>,
  membership: { organizationId: number; userId: number; role?: string },
): NewEvent => ({
  type,
  subject: `membership:${membership.organizationId}:${membership.userId}`,
  data: membership,
});

/** The API's names of the user columns that an update can change. */
const USER_FIELD_NAMES: Record<string, string> = {
  email: "email",
  username: "username",
  first_name: "firstName",
  last_name: "lastName",
  role: "role",
  status: "status",
  email_verified: "emailVerified",
};

/**
 * Records a user event with the user as stored now in the caller's transaction (call it after
 * the change). `changed` (column or API names) becomes `changedFields` in the API's names.
 */
export async function recordUserEvent(
  db: Kysely<Database>,
  type: EventType,
  userId: number,
  changed?: readonly string[],
): Promise<void> {
  const row = await db
    .selectFrom("users")
    .select(PUBLIC_USER_COLUMNS)
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!row) return;
  const changedFields = changed && [...new Set(changed.map((c) => USER_FIELD_NAMES[c] ?? c))];
  await recordEvent(db, {
    type,
    subject: `user:${userId}`,
    data: { ...publicUser(row), ...(changedFields && { changedFields }) },
  });
}

/** An event as the feed and the webhooks show it. */
export type StoredEvent = {
  id: string;
  type: string;
  subject: string;
  timestamp: string;
  data: Record<string, unknown>;
  position: string;
};

const EVENT_SELECTION = sql<StoredEvent>`
  'evt_' || replace(e.public_id::text, '-', '') as id, e.type, e.subject,
  to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "timestamp",
  e.data, e.position::text as position`;

/**
 * Committed events after feed position `after`, in commit order (see the migration): a page
 * never skips an event that commits later, since none can commit below a position already seen.
 */
export async function listEventsAfter(
  db: Kysely<Database>,
  after: string,
  limit: number,
): Promise<StoredEvent[]> {
  const { rows } = await sql<StoredEvent>`
    select ${EVENT_SELECTION} from events e
     where e.position > ${after}::int8
     order by e.position limit ${limit}`.execute(db);
  return rows;
}

/** One event by its internal id (for a delivery). */
export async function findEventForDelivery(
  db: Kysely<Database>,
  eventId: string,
): Promise<StoredEvent | undefined> {
  const { rows } = await sql<StoredEvent>`
    select ${EVENT_SELECTION} from events e where e.id = ${eventId}::int8`.execute(db);
  return rows[0];
}

/** Drops events older than `days` (their deliveries go with them); returns how many. */
export async function pruneEvents(db: Kysely<Database>, days: number): Promise<number> {
  const result = await db
    .deleteFrom("events")
    .where("occurred_at", "<", sql<Date>`now() - make_interval(days => ${days}::int)`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
