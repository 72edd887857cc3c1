import { z } from "zod";
import { ROLES, STATUSES } from "../../db/database.ts";
import { publicUser } from "../../db/events.ts";
import type { PublicUserRow } from "../../db/users.ts";
import {
  isReservedUsername,
  USERNAME_CHARACTERS,
  USERNAME_LETTER,
  USERNAME_MAX,
  USERNAME_MIN,
} from "../../server/accounts/usernames.ts";
import { MAX_ID, ZId, ZText } from "../shared-schema.ts";

export const ZUsername = z
  .string()
  .trim()
  .toLowerCase()
  .min(USERNAME_MIN)
  .max(USERNAME_MAX)
  .regex(USERNAME_CHARACTERS, "Only a-z, 0-9, '.', '_' and '-' are allowed")
  .regex(USERNAME_LETTER, "Must contain at least one letter")
  .refine((name) => !isReservedUsername(name), "This username is reserved")
  .meta({ example: "ada_lovelace" });

export const ZName = ZText(100);

export const ZRole = z.enum(ROLES);
export const ZStatus = z.enum(STATUSES);

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
    (ref) => !DIGITS.test(ref) || ZId.safeParse(Number(ref)).success,
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
export const toUser = (row: PublicUserRow): TUser => publicUser(row);
