import type { MembershipRole, Role } from "../../db/database.ts";

/** One user of an import file, validated (routers/users/import-schema.ts checks it). */
export type ImportRow = {
  email: string;
  username: string;
  firstName: string;
  lastName: string;
  role: Role;
  emailVerified: boolean;
  /** A hash `verify` can check (isVerifiableHash); without it the user is invited. */
  passwordHash?: string | undefined;
  memberships: { organizationId: number; role: MembershipRole }[];
};

/** Checks one record's fields: the row, or the reason it is rejected (`CODE: message`). */
export type ValidateImportRow = (
  fields: Record<string, unknown>,
) => { row: ImportRow } | { error: string };

/**
 * A CSV record's text fields in the shape an NDJSON line has: `emailVerified` as a boolean
 * (`true`/`false`), `memberships` as `organizationId:role` pairs separated by `;`. Anything that
 * does not convert is left as text, for the validator to reject.
 */
export function fromCsvFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  const verified = fields.emailVerified;
  if (verified === "true" || verified === "false") out.emailVerified = verified === "true";
  const memberships = fields.memberships;
  if (typeof memberships === "string") {
    out.memberships = memberships.split(";").map((pair) => {
      const [id, role] = pair.split(":");
      return { organizationId: /^\d{1,10}$/.test(id ?? "") ? Number(id) : id, role };
    });
  }
  return out;
}
