import { findCredentials, type UserRow } from "../../db/users.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { enforceRate, rateRules } from "../limits/rate-limit.ts";
import { reservePasswordAttempt } from "./login-guard.ts";

/**
 * The one check of a signed-in user's current password (changing the password or the email needs
 * it), so no procedure can forget the limits: every such check spends the account's budget
 * (PASSWORD_LIMIT_PER_ACCOUNT, then 429) and counts toward the login lock like a failed login
 * from the same address. Both are reserved before the password is verified, so concurrent
 * guesses cannot overrun them. Returns the user (without the hash) once the password is right.
 */
export async function requireCurrentPassword(
  ctx: Pick<Context, "db" | "limits" | "config" | "request" | "hashing">,
  userId: number,
  password: string,
): Promise<UserRow> {
  const credentials = await findCredentials(ctx.db, { id: userId });
  // Gone since the token was checked (deleted meanwhile): nothing to compare with.
  if (!credentials) throw wrongPassword();
  const { password_hash: hash, ...user } = credentials;
  await enforceRate(ctx, rateRules(ctx.config).passwordPerAccount, String(user.id));
  const attempt = await reservePasswordAttempt(ctx, user.email);
  const right = !attempt.locked && (await ctx.hashing.verify(hash, password.normalize("NFKC")));
  if (!right) {
    await attempt.failed();
    throw wrongPassword();
  }
  await attempt.succeeded();
  return user;
}

const wrongPassword = () =>
  new AppError("INVALID_CURRENT_PASSWORD", "The current password is incorrect");
