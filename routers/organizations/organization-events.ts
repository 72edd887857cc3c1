import type { Kysely } from "kysely";
import type { Database, MembershipRole } from "../../db/database.ts";
import { type EventType, membershipEvent, recordEvent } from "../../db/events.ts";
import type { OrganizationRow } from "../../db/organizations.ts";
import { toOrganization } from "./organization-schema.ts";

/** An organization event with the organization as the API shows it (in the caller's transaction). */
export const recordOrganizationEvent = (
  tx: Kysely<Database>,
  type: Extract<EventType, `organization.${string}`>,
  row: OrganizationRow,
  changed?: string[],
) =>
  recordEvent(tx, {
    type,
    subject: `organization:${row.id}`,
    data: { ...toOrganization(row), ...(changed && { changedFields: changed }) },
  });

/** A membership event; the subject is the membership (organization and user). */
export const recordMembershipEvent = (
  tx: Kysely<Database>,
  type: Extract<EventType, `membership.${string}`>,
  membership: { organizationId: number; userId: number; role?: MembershipRole },
) => recordEvent(tx, membershipEvent(type, membership));
