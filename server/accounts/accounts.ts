import { randomInt } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database, Role, UserStatus } from "../../db/database.ts";
import { discardEmailTokens } from "../../db/email-tokens.ts";
import { recordEvents, userEvent } from "../../db/events.ts";
import { deleteProfileImage } from "../../db/profile-images.ts";
import { insertUserWithTokenMail, type UserRow, usernamesStartingWith } from "../../db/users.ts";
import type { Config } from "../config.ts";
import type { Deps as ServiceDeps } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { firstTokenMail } from "../mail/token-mail.ts";
import { refuseTaken } from "./taken.ts";
import { isReservedUsername, USERNAME_LETTER, USERNAME_MAX, USERNAME_MIN } from "./usernames.ts";

export type NewAccount = {
  email: string;
  username?: string | undefined;
  firstName: string;
  lastName: string;
  password?: string | undefined;
  role: Role;
  status: Extract<UserStatus, "pending" | "invited">;
};

type Deps = Pick<ServiceDeps, "db" | "config" | "hashing" | "passwordPolicy">;

/** What checking and hashing a new password needs. */
export type PasswordDeps = Pick<ServiceDeps, "hashing" | "passwordPolicy"> & {
  config: Pick<Config, "PASSWORD_MIN_LENGTH">;
};

/**
 * Checks a new password against the policy for this user and returns its argon2id hash. The hash
 * is computed while the strength check runs in its worker (a signup then costs about one of the
 * two, not both); the policy's verdict comes first, so WEAK_PASSWORD wins over anything the
 * hashing met (a full queue, say), and a refused password's hash is discarded. Passwords the
 * cheap rules refuse (too short, too long, not text) are never hashed.
 */
export async function hashNewPassword(
  { config, hashing, passwordPolicy }: PasswordDeps,
  password: string,
  user: { email: string; username?: string | undefined; firstName?: string; lastName?: string },
): Promise<string> {
  const hashed = hashing.hash(passwordPolicy.normalise(password, config.PASSWORD_MIN_LENGTH));
  // Awaited only once the policy agrees: until then its rejection must not go unhandled.
  hashed.catch(() => {});
  await passwordPolicy.check(password, user, config.PASSWORD_MIN_LENGTH);
  return hashed;
}

/** The same, for a stored user: the policy sees their email, username and names. */
export const hashPasswordForUser = (
  deps: PasswordDeps,
  password: string,
  user: Pick<UserRow, "email" | "username" | "first_name" | "last_name">,
) =>
  hashNewPassword(deps, password, {
    email: user.email,
    username: user.username,
    firstName: user.first_name,
    lastName: user.last_name,
  });

/**
 * Creates a user and queues its mail (verification for signups, invitation for admin-created
 * users) and its `user.created` event: the user, its token and its mail in one statement, the
 * event beside it in the same transaction. No user without its mail and event, no mail or event
 * for a user that was not stored.
 */
export async function createAccount(deps: Deps, account: NewAccount): Promise<UserRow> {
  const { db, config } = deps;
  const passwordHash = account.password
    ? await hashNewPassword(deps, account.password, account)
    : null;
  // A derived username can race with another signup: the insert's unique index decides, and
  // the loser derives another (see `deriveUsername`). A chosen username is never replaced.
  const kind = account.status === "invited" ? "invitation" : "verification";
  for (let attempt = 0; ; attempt++) {
    try {
      const username = account.username ?? (await deriveUsername(db, account.email, attempt));
      return await refuseTaken(
        db.transaction().execute(async (tx) => {
          const user = await insertUserWithTokenMail(
            tx,
            {
              email: account.email,
              username,
              first_name: account.firstName,
              last_name: account.lastName,
              role: account.role,
              status: account.status,
              password_hash: passwordHash,
            },
            firstTokenMail(config, kind, account),
          );
          await recordEvents(tx, [userEvent("user.created", user)]);
          return user;
        }),
      );
    } catch (error) {
      const derivedClash =
        error instanceof AppError && error.apiCode === "USERNAME_TAKEN" && !account.username;
      if (!derivedClash || attempt >= MAX_DERIVE_ATTEMPTS) throw error;
    }
  }
}

/** Tries of the next free numeric suffix before random ones (see `deriveUsername`). */
const SEQUENTIAL_ATTEMPTS = 3;
/** Random suffixes come from 900,000 values: this many clashes in a row do not happen. */
const MAX_DERIVE_ATTEMPTS = 20;

/**
 * A valid username from the email's local part: `ada`, then the next free `ada2`, `ada3`…
 * Concurrent signups sharing a local part all see the same next free name and all but one lose
 * it at the insert; after a few such tries, `attempt` switches to a random six-digit suffix
 * (`ada482913`), which concurrency cannot exhaust.
 */
export async function deriveUsername(
  db: Kysely<Database>,
  email: string,
  attempt = 0,
): Promise<string> {
  let base = (email.split("@")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "")
    .slice(0, 28);
  if (!USERNAME_LETTER.test(base)) base = `user${base}`.slice(0, 28);
  if (base.length < USERNAME_MIN || isReservedUsername(base)) base = `${base}user`.slice(0, 28);
  if (attempt >= SEQUENTIAL_ATTEMPTS) return withSuffix(base, randomInt(100_000, 1_000_000));
  const taken = await usernamesStartingWith(db, base);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = withSuffix(base, n);
    if (!taken.has(candidate)) return candidate;
  }
}

/** `base` + `n`, the base shortened to fit the length limit and still holding a letter. */
function withSuffix(base: string, n: number): string {
  const suffix = String(n);
  const head = base.slice(0, USERNAME_MAX - suffix.length);
  return USERNAME_LETTER.test(head)
    ? head + suffix
    : `user${head}`.slice(0, USERNAME_MAX - suffix.length) + suffix;
}

/**
 * A password reset on a `pending` account proves the mailbox: whoever signed up with the address
 * may not have been its owner (squatting). What only a signed-in user can have added is dropped
 * with their access: the profile image, and a pending email change (its link went to an address
 * of their choosing). Names and username stay: every signup sets them, the owner's own included,
 * and the owner sees and edits them on their profile at once. Sessions end in `writePassword`.
 */
export async function reclaimPendingAccount(tx: Transaction<Database>, userId: number) {
  await deleteProfileImage(tx, userId);
  await discardEmailTokens(tx, userId, ["verification", "email_change"]);
}
