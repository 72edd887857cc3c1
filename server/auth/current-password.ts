import type { UserRow } from "../../db/database.ts";
import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import { enforceRate, rateRules } from "../limits/rate-limit.ts";
import { reservePasswordAttempt } from "./login-guard.ts";

type PasswordHolder = Pick<UserRow, "id" | "email" | "password_hash">;

/**
 * The one check of a signed-in user's current password (changing the password or the email needs
 * it), so no procedure can forget the limits: every such check spends the account's budget
 * (PASSWORD_LIMIT_PER_ACCOUNT, then 429) and counts toward the login lock like a failed login
 * from the same address. Both are reserved before the password is verified, so concurrent
 * guesses cannot overrun them. Returns the user once the password is right.
 */
export async function requireCurrentPassword<User extends PasswordHolder>(
  ctx: Pick<Context, "limits" | "config" | "request" | "hashing">,
  user: User | undefined,
  password: string,
): Promise<User> {
  // Gone since the token was checked (deleted meanwhile): nothing to compare with.
  if (!user) throw wrongPassword();
  await enforceRate(ctx, rateRules(ctx.config).passwordPerAccount, String(user.id));
  const attempt = await reservePasswordAttempt(ctx, user.email);
  const right =
    !attempt.locked && (await ctx.hashing.verify(user.password_hash, password.normalize("NFKC")));
  if (!right) {
    await attempt.failed();
    throw wrongPassword();
  }
  await attempt.succeeded();
  return user;
}

const wrongPassword = () =>
  new AppError("INVALID_CURRENT_PASSWORD", "The current password is incorrect");
