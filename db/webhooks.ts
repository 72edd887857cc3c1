import { type Kysely, type Selectable, sql } from "kysely";
import type { Database, WebhookEndpointsTable } from "./database.ts";
import { notifyWebhooksQueued } from "./events.ts";

/** What the API shows of an endpoint: never its secrets. */
const ENDPOINT_COLUMNS = [
  "id",
  "url",
  "description",
  "event_types",
  "enabled",
  "disabled_reason",
  "failing_since",
  "created_at",
  "updated_at",
] as const;
export type EndpointRow = Pick<
  Selectable<WebhookEndpointsTable>,
  (typeof ENDPOINT_COLUMNS)[number]
>;

export const insertEndpoint = (
  db: Kysely<Database>,
  endpoint: { url: string; description: string; eventTypes: string[]; secret: string },
) =>
  db
    .insertInto("webhook_endpoints")
    .values({
      url: endpoint.url,
      description: endpoint.description,
      event_types: endpoint.eventTypes,
      secret: endpoint.secret,
    })
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirstOrThrow();

export const findEndpoint = (db: Kysely<Database>, id: number) =>
  db
    .selectFrom("webhook_endpoints")
    .select(ENDPOINT_COLUMNS)
    .where("id", "=", id)
    .executeTakeFirst();

export async function listEndpoints(db: Kysely<Database>, page: { top: number; skip: number }) {
  const [rows, total] = await Promise.all([
    db
      .selectFrom("webhook_endpoints")
      .select(ENDPOINT_COLUMNS)
      .orderBy("id")
      .limit(page.top)
      .offset(page.skip)
      .execute(),
    db
      .selectFrom("webhook_endpoints")
      .select(sql<number>`count(*)::int`.as("count"))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, count: total.count };
}

/** Changes an endpoint; enabling it again forgets why it was disabled and how long it failed. */
export const updateEndpoint = (
  db: Kysely<Database>,
  id: number,
  patch: {
    url?: string | undefined;
    description?: string | undefined;
    eventTypes?: string[] | undefined;
    enabled?: boolean | undefined;
  },
) =>
  db
    .updateTable("webhook_endpoints")
    .set({
      url: patch.url,
      description: patch.description,
      event_types: patch.eventTypes,
      enabled: patch.enabled,
      ...(patch.enabled !== undefined && { disabled_reason: null, failing_since: null }),
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();

/** A new signing secret; the old one still signs (beside it) for `graceSeconds`. */
export const rotateEndpointSecret = (
  db: Kysely<Database>,
  id: number,
  secret: string,
  graceSeconds: number,
) =>
  db
    .updateTable("webhook_endpoints")
    .set({
      previous_secret: sql`secret`,
      previous_secret_expires_at: sql`now() + make_interval(secs => ${graceSeconds})`,
      secret,
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();

export const deleteEndpoint = (db: Kysely<Database>, id: number) =>
  db.deleteFrom("webhook_endpoints").where("id", "=", id).executeTakeFirst();

/** A delivery as the API shows it. */
export type DeliveryView = {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date;
  finishedAt: Date | null;
};

/** An endpoint's most recent deliveries, newest first. */
export async function listDeliveries(
  db: Kysely<Database>,
  endpointId: number,
  query: { top: number; status?: string | undefined },
): Promise<DeliveryView[]> {
  const { rows } = await sql<DeliveryView>`
    select d.id::text as id, 'evt_' || replace(e.public_id::text, '-', '') as "eventId",
           e.type as "eventType", d.status, d.attempts, d.last_status_code as "lastStatusCode",
           d.last_error as "lastError", d.created_at as "createdAt",
           d.next_attempt_at as "nextAttemptAt", d.finished_at as "finishedAt"
      from webhook_deliveries d join events e on e.id = d.event_id
     where d.endpoint_id = ${endpointId}
       ${query.status ? sql`and d.status = ${query.status}` : sql``}
     order by d.id desc limit ${query.top}`.execute(db);
  return rows;
}

/**
 * Queues the event of one of the endpoint's deliveries again, as a new delivery (the old one's
 * history stays); undefined when the endpoint has no such delivery.
 */
export async function redeliver(
  db: Kysely<Database>,
  endpointId: number,
  deliveryId: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    insert into webhook_deliveries (endpoint_id, event_id, subject)
    select endpoint_id, event_id, subject from webhook_deliveries
     where id = ${deliveryId}::int8 and endpoint_id = ${endpointId}
    returning id::text as id`.execute(db);
  if (rows[0]) await notifyWebhooksQueued(db);
  return rows[0]?.id;
}

/** A pending delivery the worker has leased, with what it needs to send it. */
export type ClaimedDelivery = {
  id: string;
  endpointId: number;
  eventId: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  /** Attempts so far, this one included; fences later writes (as the mail outbox does). */
  attempts: number;
};

/**
 * Claims up to `limit` due deliveries (FOR UPDATE SKIP LOCKED, as the mail outbox), leased for
 * `leaseSeconds`. A delivery is due only when no delivery of an earlier event (by feed position)
 * about the same subject is still pending to the same endpoint, claimed or not: a subject's
 * events reach each endpoint in commit order, one at a time.
 */
export async function claimDueDeliveries(
  db: Kysely<Database>,
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    with due as (
      select d.id from webhook_deliveries d
        join webhook_endpoints w on w.id = d.endpoint_id and w.enabled
        join events e on e.id = d.event_id
       where d.status = 'pending' and d.next_attempt_at <= now()
         and not exists (
           select 1 from webhook_deliveries p join events pe on pe.id = p.event_id
            where p.endpoint_id = d.endpoint_id and p.subject = d.subject
              and p.status = 'pending' and p.id <> d.id
              and (pe.position < e.position or (pe.position = e.position and p.id < d.id)))
       order by e.position, d.id
       limit ${limit}
       for update of d skip locked
    )
    update webhook_deliveries d
       set next_attempt_at = now() + make_interval(secs => ${leaseSeconds}::float8),
           attempts = d.attempts + 1
      from due, webhook_endpoints w
     where d.id = due.id and w.id = d.endpoint_id
    returning d.id::text as id, d.endpoint_id as "endpointId", d.event_id::text as "eventId",
              w.url, w.secret,
              case when w.previous_secret_expires_at > now() then w.previous_secret end
                as "previousSecret",
              d.attempts`.execute(db);
  return rows;
}

type Claim = Pick<ClaimedDelivery, "id" | "attempts" | "endpointId">;

/** Records an attempt's outcome on a delivery still held by this claim; false when it is not. */
async function finishAttempt(
  db: Kysely<Database>,
  claim: Claim,
  set: ReturnType<typeof sql>,
): Promise<boolean> {
  const result = await sql`
    update webhook_deliveries set ${set}
     where id = ${claim.id}::int8 and attempts = ${claim.attempts} and status = 'pending'`.execute(
    db,
  );
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** Delivered: done, and the endpoint is no longer failing. */
export async function markDelivered(db: Kysely<Database>, claim: Claim, statusCode: number) {
  await finishAttempt(
    db,
    claim,
    sql`status = 'delivered', last_status_code = ${statusCode}, last_error = null, finished_at = now()`,
  );
  await db
    .updateTable("webhook_endpoints")
    .set({ failing_since: null })
    .where("id", "=", claim.endpointId)
    .where("failing_since", "is not", null)
    .execute();
}

/**
 * A failed attempt: retried after `retryInSeconds`, or failed for good when that is null. The
 * endpoint counts as failing from its first failure since its last success.
 */
export async function markAttemptFailed(
  db: Kysely<Database>,
  claim: Claim,
  outcome: { statusCode: number | null; error: string; retryInSeconds: number | null },
): Promise<void> {
  const retry = outcome.retryInSeconds;
  await finishAttempt(
    db,
    claim,
    retry === null
      ? sql`status = 'failed', last_status_code = ${outcome.statusCode}, last_error = ${outcome.error}, finished_at = now()`
      : sql`next_attempt_at = now() + make_interval(secs => ${retry}), last_status_code = ${outcome.statusCode}, last_error = ${outcome.error}`,
  );
  await db
    .updateTable("webhook_endpoints")
    .set({ failing_since: sql`now()` })
    .where("id", "=", claim.endpointId)
    .where("failing_since", "is", null)
    .execute();
}

/**
 * Disables the endpoint if it has failed for at least `afterSeconds`; true when this call did
 * (so exactly one caller writes the audit entry).
 */
export async function disableIfFailingSince(
  db: Kysely<Database>,
  endpointId: number,
  afterSeconds: number,
  reason: string,
): Promise<boolean> {
  const result = await db
    .updateTable("webhook_endpoints")
    .set({ enabled: false, disabled_reason: reason, updated_at: sql`now()` })
    .where("id", "=", endpointId)
    .where("enabled", "=", true)
    .where("failing_since", "<=", sql<Date>`now() - make_interval(secs => ${afterSeconds})`)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Hands claimed but unsent deliveries back (a worker stopping): due now, attempt not counted. */
export async function releaseDeliveries(db: Kysely<Database>, claims: Claim[]): Promise<void> {
  for (const claim of claims) {
    await finishAttempt(db, claim, sql`next_attempt_at = now(), attempts = attempts - 1`);
  }
}

/** Pending deliveries and the age of the oldest (seconds; 0 if none), for /metrics. */
export async function deliveryBacklog(
  db: Kysely<Database>,
): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const { rows } = await sql<{ pending: number; oldest_age: number | null }>`
    select count(*)::int as pending,
           extract(epoch from now() - min(created_at))::float8 as oldest_age
      from webhook_deliveries where status = 'pending'`.execute(db);
  return { pending: rows[0]?.pending ?? 0, oldestAgeSeconds: rows[0]?.oldest_age ?? 0 };
}
