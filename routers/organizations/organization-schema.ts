import type { Kysely, Transaction } from "kysely";
import { z } from "zod";
import type { Database } from "../../db/database.ts";
import {
  findOrganization,
  lockOrganization,
  type OrganizationRow,
} from "../../db/organizations.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { ZText } from "../shared-schema.ts";

export const ZOrganizationName = ZText(200);

export const ZOrganization = z
  .object({
    id: z.number().int(),
    name: z.string(),
    parentId: z.number().int().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Organization" });

export const toOrganization = (row: OrganizationRow): z.infer<typeof ZOrganization> => ({
  id: row.id,
  name: row.name,
  parentId: row.parent_id,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export const organizationNotFound = () => new AppError("NOT_FOUND", "Organization not found");

export async function loadOrganization(db: Kysely<Database>, id: number): Promise<OrganizationRow> {
  const organization = await findOrganization(db, id);
  if (!organization) throw organizationNotFound();
  return organization;
}

/** The organization, locked for the rest of the transaction (see `lockOrganization`), or 404. */
export async function lockExistingOrganization(
  tx: Transaction<Database>,
  id: number,
  mode: "forDelete" | "forReference",
): Promise<OrganizationRow> {
  const organization = await lockOrganization(tx, id, mode);
  if (!organization) throw organizationNotFound();
  return organization;
}
