import { z } from "zod";
import { MEMBERSHIP_ROLES } from "../db/database.ts";

/**
 * The schemas more than one resource uses. A resource's own schemas stay in its folder
 * (users/user-schema.ts, organizations/organization-schema.ts, …); no resource imports another's.
 */

/** Ids are PostgreSQL integers. */
export const MAX_ID = 2147483647;
/** Every id in a path or body: on the REST door a path id must be exact digits (server/http/rest.ts). */
export const ZId = z.number().int().positive().max(MAX_ID);

/** Free text bound for the database: PostgreSQL text cannot hold NUL, so it is refused here. */
export const ZText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !text.includes("\u0000"), "Must not contain NUL characters");

export const ZEmail = z
  .string()
  .trim()
  .max(254)
  .check(z.email())
  .meta({ example: "ada@example.com" });

/** Bounded here; the password policy (length in code points, strength) runs in the procedure. */
export const ZPassword = z.string().min(1).max(1024);

/** A TOTP code (6 digits) or a recovery code (`xxxxx-xxxxx`, case, spaces and hyphens ignored). */
export const ZFactorCode = z.string().trim().min(1).max(64);

/** The `token` query parameter of an emailed link, as the frontend passes it on. */
export const ZLinkToken = z
  .string()
  .trim()
  .min(1)
  .max(512)
  .meta({ description: "The `token` parameter of the emailed link" });

export const ZMembershipRole = z.enum(MEMBERSHIP_ROLES);

/** The input of a procedure that takes none. */
export const ZNoInput = z.strictObject({}).optional();

/** Offset paging of a list (spread into its input object). */
export const ZPage = {
  $top: z.number().int().min(1).max(1000).default(100),
  $skip: z.number().int().min(0).max(1_000_000_000).default(0),
};

/** One page of a list: its items and how many there are in all. */
export const ZPageOf = <T extends z.ZodType>(item: T) =>
  z.object({ value: z.array(item), count: z.number().int() });

export const ZSuccess = z.object({ success: z.literal(true), message: z.string() });
export const success = (message: string) => ({ success: true as const, message });

/** A success with nothing to say. */
export const ZDone = z.object({ success: z.literal(true) });
