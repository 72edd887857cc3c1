import { z } from "zod";
import { ROLES, STATUSES } from "../../db/database.ts";
import type { PublicUserRow } from "../../db/users.ts";

const RESERVED_USERNAMES = new Set([
  "me",
  "profile",
  "password",
  "signup",
  "admin",
  "api",
  "auth",
  "users",
  "user",
  "root",
  "system",
  "support",
  "verification",
  "invitation",
  "sessions",
  "email",
  "null",
  "undefined",
]);

export const ZEmail = z
  .string()
  .trim()
  .max(254)
  .check(z.email())
  .meta({ example: "ada@example.com" });

export const ZUsername = z
  .string()
  .trim()
  .toLowerCase()
  .min(3)
  .max(32)
  .regex(/^[a-z0-9._-]+$/, "Only a-z, 0-9, '.', '_' and '-' are allowed")
  .regex(/[a-z]/, "Must contain at least one letter")
  .refine((name) => !RESERVED_USERNAMES.has(name), "This username is reserved")
  .meta({ example: "ada_lovelace" });

export const isReservedUsername = (name: string) => RESERVED_USERNAMES.has(name);

/** Free text bound for the database: PostgreSQL text cannot hold NUL, so it is refused here. */
export const ZText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !text.includes("\u0000"), "Must not contain NUL characters");

export const ZName = ZText(100);

/** Bounded here; the password policy (length in code points, strength) runs in the procedure. */
export const ZPassword = z.string().min(1).max(1024);

export const ZRole = z.enum(ROLES);
export const ZStatus = z.enum(STATUSES);
/** Ids are PostgreSQL integers. */
export const MAX_ID = 2147483647;
/** Every id in a path or body: on the REST door a path id must be exact digits (server/http/rest.ts). */
export const ZId = z.number().int().positive().max(MAX_ID);
export const ZUserId = ZId;

const DIGITS = /^[0-9]+$/;

/**
 * A user named in a path: an id in exact ASCII digits, or a username (which always holds a
 * letter). Never trimmed or reinterpreted: ` 1` or `1.0` is refused, not read as user 1.
 */
export const ZUserRef = z
  .string()
  .max(64)
  .regex(/^(?:[0-9]+|[A-Za-z0-9._-]*[A-Za-z][A-Za-z0-9._-]*)$/, "An id (digits only) or a username")
  .refine(
    (ref) => !DIGITS.test(ref) || (Number(ref) >= 1 && Number(ref) <= MAX_ID),
    `An id is between 1 and ${MAX_ID}`,
  );

/** The id a user reference names, or undefined when it is a username. */
export const idOfUserRef = (ref: string): number | undefined =>
  DIGITS.test(ref) ? Number(ref) : undefined;

export const ZUser = z
  .object({
    id: z.number().int(),
    email: z.string(),
    username: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    status: ZStatus,
    role: ZRole,
    emailVerified: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    lastLoginAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "User" });

export type TUser = z.infer<typeof ZUser>;

/** The one mapping from a stored user to what the API shows (never the hash or internals). */
export const toUser = (row: PublicUserRow): TUser => ({
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

export const ZSuccess = z.object({ success: z.literal(true), message: z.string() });
export const success = (message: string) => ({ success: true as const, message });
