import type { Context } from "../context.ts";
import { enforceRate, rateRules } from "../limits/rate-limit.ts";

// The hard lock is per (account, client address), for the rest of a 15-minute window: a guesser
// locks out only their own address, never the owner.
const ADDRESS_WINDOW_SECONDS = 900;
// Failures from every address, counted over a day: a guesser spread over many addresses meets
// growing delays and then the account lock, which a password reset (or the day's end) lifts.
const ACCOUNT_WINDOW_SECONDS = 24 * 3600;

type GuardContext = Pick<Context, "limits" | "config" | "request">;

export type PasswordAttempt = {
  /** This attempt may not check a password: answer as for a wrong one. */
  locked: boolean;
  /** The password was wrong (or not checked): the attempt stays counted; waits the delay. */
  failed: () => Promise<void>;
  /** The password was right: clears this address's failures and takes the attempt back. */
  succeeded: () => Promise<void>;
  /**
   * The password was right but the sign-in is not complete (a second factor follows): takes this
   * attempt back and forgets nothing, so wrong codes counted before still count. Only a whole
   * sign-in (`succeeded` after the second factor) clears the address's failures.
   */
  released: () => Promise<void>;
};

const UNGUARDED: PasswordAttempt = {
  locked: false,
  failed: async () => {},
  succeeded: async () => {},
  released: async () => {},
};

const failureKeys = (email: string, ip: string) => {
  const account = email.toLowerCase();
  return { address: `login-failures:${account}:${ip}`, account: `login-account:${account}` };
};

/**
 * Reserves one password check against the account from the caller's address *before* the
 * password is verified. The counters are incremented atomically first (database upsert or Redis
 * INCR), so however many attempts arrive at once, at most LOGIN_LOCK_AFTER_FAILURES of them per
 * address, and LOGIN_ACCOUNT_LOCK_AFTER_FAILURES per account, get to verify a password. Every
 * attempt counts as a failure until `succeeded()` is called.
 */
export async function reservePasswordAttempt(
  ctx: GuardContext,
  email: string,
): Promise<PasswordAttempt> {
  const { config, limits } = ctx;
  if (config.RATE_LIMIT === "off") return UNGUARDED;
  const keys = failureKeys(email, ctx.request.ip);
  const fromAddress = (await limits.hit(keys.address, ADDRESS_WINDOW_SECONDS)).count;
  const addressLocked = fromAddress > config.LOGIN_LOCK_AFTER_FAILURES;
  // A locked address adds nothing more to the account's count: hammering on from one address
  // does not bring the account lock closer.
  const overall = addressLocked
    ? fromAddress
    : (await limits.hit(keys.account, ACCOUNT_WINDOW_SECONDS)).count;
  return {
    locked: addressLocked || overall > config.LOGIN_ACCOUNT_LOCK_AFTER_FAILURES,
    failed: () => sleep(delayAfter(overall, config.LOGIN_LOCK_AFTER_FAILURES)),
    async succeeded() {
      await limits.clear(keys.address);
      await limits.unhit(keys.account);
    },
    async released() {
      await limits.unhit(keys.address);
      await limits.unhit(keys.account);
    },
  };
}

/**
 * Login's guard: the per-address request limit (429), then a reserved password attempt (a lock
 * answers exactly like a wrong password, so it reveals nothing).
 */
export async function guardLogin(ctx: GuardContext, email: string): Promise<PasswordAttempt> {
  if (ctx.config.RATE_LIMIT === "on") {
    await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
  }
  return reservePasswordAttempt(ctx, email);
}

/**
 * A passkey sign-in's guard: the same per-address request limit as a password login, then, when
 * the credential names an account, an attempt reserved against that account and address as for a
 * password (so failed assertions share the lock's budget). An unknown credential cannot succeed
 * and reserves nothing.
 */
export async function guardPasskeyLogin(
  ctx: GuardContext,
  email: string | undefined,
): Promise<PasswordAttempt> {
  if (ctx.config.RATE_LIMIT === "on") {
    await enforceRate(ctx, rateRules(ctx.config).loginPerIp, ctx.request.ip);
  }
  return email === undefined ? UNGUARDED : reservePasswordAttempt(ctx, email);
}

/**
 * Forgets the account's failures (and the caller's address's): a successful password reset
 * proves the mailbox, so it lifts the account lock.
 */
export async function clearLoginFailures(ctx: GuardContext, email: string): Promise<void> {
  const keys = failureKeys(email, ctx.request.ip);
  await ctx.limits.clear(keys.account);
  await ctx.limits.clear(keys.address);
}

/** Delays grow from half the address lock: 100 ms, doubling, at most 3 s. */
function delayAfter(failures: number, lockAt: number): number {
  const beyond = failures - Math.floor(lockAt / 2);
  return beyond > 0 ? Math.min(100 * 2 ** beyond, 3000) : 0;
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
