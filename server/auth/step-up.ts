import type { Context } from "../context.ts";
import { AppError } from "../errors/api-errors.ts";
import type { Caller } from "./authenticate.ts";

/**
 * The step-up check, one call for every sensitive change (removing a factor, regenerating
 * recovery codes, deleting one's own data): the caller's access token must say (`auth_time`) that
 * they signed in, or stepped up (POST /api/auth/step-up), within STEP_UP_SECONDS. Otherwise 403
 * STEP_UP_REQUIRED, which a client answers by stepping up and retrying with the new token.
 */
export function requireRecentAuth(ctx: Pick<Context, "config"> & { user: Caller }): void {
  const age = Date.now() / 1000 - ctx.user.authTime;
  if (age > ctx.config.STEP_UP_SECONDS) {
    throw new AppError(
      "STEP_UP_REQUIRED",
      `This change needs a sign-in within the last ${ctx.config.STEP_UP_SECONDS} seconds: step up (POST /api/auth/step-up) and retry with the new access token`,
    );
  }
}
