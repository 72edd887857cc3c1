import type { Kysely, Transaction } from "kysely";
import type { Database, Role, UserRow, UserStatus } from "../db/database.ts";
import { insertUser, usernamesStartingWith } from "../db/users.ts";
import { isReservedUsername } from "../routers/users/user-schema.ts";
import type { Config } from "./config.ts";
import { AppError } from "./errors.ts";
import { queueTokenMail } from "./mail/token-mail.ts";
import { hashPassword } from "./passwords/hash.ts";
import { checkPasswordPolicy } from "./passwords/policy.ts";

export type NewAccount = {
  email: string;
  username?: string | undefined;
  firstName: string;
  lastName: string;
  password?: string | undefined;
  role: Role;
  status: Extract<UserStatus, "pending" | "invited">;
};

type Deps = { db: Kysely<Database>; config: Config };

/** Checks a new password against the policy for this user and returns its argon2id hash. */
export async function hashNewPassword(
  config: Pick<Config, "PASSWORD_MIN_LENGTH">,
  password: string,
  user: { email: string; username?: string | undefined; firstName?: string; lastName?: string },
): Promise<string> {
  const normalised = await checkPasswordPolicy(password, user, config.PASSWORD_MIN_LENGTH);
  return hashPassword(normalised);
}

/** The same, for a stored user: the policy sees their email, username and names. */
export const hashPasswordForUser = (
  config: Pick<Config, "PASSWORD_MIN_LENGTH">,
  password: string,
  user: Pick<UserRow, "email" | "username" | "first_name" | "last_name">,
) =>
  hashNewPassword(config, password, {
    email: user.email,
    username: user.username,
    firstName: user.first_name,
    lastName: user.last_name,
  });

/**
 * Creates a user and queues its mail (verification for signups, invitation for admin-created
 * users) in one transaction: no user without its mail, no mail for a user that was not stored.
 */
export async function createAccount({ db, config }: Deps, account: NewAccount): Promise<UserRow> {
  const passwordHash = account.password
    ? await hashNewPassword(config, account.password, account)
    : null;
  // A derived username can race with another signup; the next free one is tried then.
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (tx) => {
        const username = account.username ?? (await deriveUsername(tx, account.email));
        const user = await insertUser(tx, {
          email: account.email,
          username,
          first_name: account.firstName,
          last_name: account.lastName,
          role: account.role,
          status: account.status,
          password_hash: passwordHash,
        });
        const kind = account.status === "invited" ? "invitation" : "verification";
        await queueTokenMail(tx, config, { kind, user, recipient: user.email });
        return user;
      });
    } catch (error) {
      const derivedClash =
        error instanceof AppError && error.apiCode === "USERNAME_TAKEN" && !account.username;
      if (!derivedClash || attempt >= 4) throw error;
    }
  }
}

/** A valid, free username from the email's local part: `ada`, then `ada2`, `ada3`… */
export async function deriveUsername(db: Transaction<Database>, email: string): Promise<string> {
  let base = (email.split("@")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "")
    .slice(0, 28);
  if (!/[a-z]/.test(base)) base = `user${base}`.slice(0, 28);
  if (base.length < 3 || isReservedUsername(base)) base = `${base}user`.slice(0, 28);
  const taken = await usernamesStartingWith(db, base);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
