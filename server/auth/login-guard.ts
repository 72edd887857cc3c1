import type { Context } from "../context.ts";
import { enforceRate, rateRules } from "../rate-limit.ts";

const FAILURE_WINDOW_SECONDS = 900;

/**
 * Brute-force protection for login: a per-address limit (429), and per account a growing delay
 * after repeated failures and then a temporary lock. A locked account answers exactly like a
 * wrong password, so the lock reveals nothing.
 */
export async function guardLogin(ctx: Context, email: string) {
  const active = ctx.config.RATE_LIMIT === "on";
  const key = `login-failures:${email.toLowerCase()}`;
  if (active) await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
  const failures = active ? await ctx.limits.peek(key, FAILURE_WINDOW_SECONDS) : 0;
  const lockAt = ctx.config.LOGIN_LOCK_AFTER_FAILURES;
  return {
    locked: failures >= lockAt,
    async failed() {
      if (!active) return;
      const { count } = await ctx.limits.hit(key, FAILURE_WINDOW_SECONDS);
      const beyond = count - Math.floor(lockAt / 2);
      if (beyond > 0) await sleep(Math.min(100 * 2 ** beyond, 3000));
    },
    async succeeded() {
      if (active && failures > 0) await ctx.limits.clear(key);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
