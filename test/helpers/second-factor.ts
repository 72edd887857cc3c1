// Second factors for tests, checked with an independent TOTP implementation (the `otpauth`
// package; the service uses node:crypto), so a bug shared by both sides cannot hide.

import * as OTPAuth from "otpauth";
import { expect, vi } from "vitest";
import type { UserRow } from "../../db/users.ts";
import type { TestApp } from "./test-app.ts";

export const STEP_MS = 30_000;

/** The middle of the current 30-second step: a moment a code cannot cross a step boundary from. */
export const midStep = (now = Date.now()) => Math.floor(now / STEP_MS) * STEP_MS + STEP_MS / 2;

/**
 * Waits, when the current step ends within a second, until the next one has begun: a code made
 * for "the step before now" then still is that when the service checks it.
 */
export async function awayFromStepEdge(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 1000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/** Runs `fn` with Date (only) frozen at `ms`; timers and the database's clock run on. */
export async function atTime<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ now: ms, toFake: ["Date"] });
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
  }
}

/** An authenticator app made from an `otpauth://` URI, as a phone would read it from a QR code. */
export function authenticator(otpauthUri: string) {
  const totp = OTPAuth.URI.parse(otpauthUri);
  if (!(totp instanceof OTPAuth.TOTP)) throw new Error("not a TOTP URI");
  return {
    totp,
    /** The code for the moment `ms`. */
    codeAt: (ms: number) => totp.generate({ timestamp: ms }),
    /** The code `steps` steps after the current one (from the middle of the step). */
    code: (steps = 0) => totp.generate({ timestamp: midStep() + steps * STEP_MS }),
  };
}

/**
 * Enrols and confirms TOTP for the user through the procedures (its first code spends the step
 * before the current one, so the current step's code is still unused). Returns the app, the
 * secret as shown, the code that confirmed it and the recovery codes.
 */
export async function enrolTotp(t: TestApp, user: UserRow) {
  const api = await t.callerFor(user);
  const enrolment = await api.factors.enrolTotp();
  const app = authenticator(enrolment.otpauthUri);
  await awayFromStepEdge();
  const firstCode = app.code(-1);
  const { recoveryCodes } = await api.factors.confirmTotp({ code: firstCode });
  return { ...enrolment, app, recoveryCodes, firstCode };
}

/** Lets the user's TOTP accept any step again (between rounds of a race on one code). */
export const forgetUsedSteps = (t: TestApp, userId: number) =>
  t.db
    .updateTable("totp_factors")
    .set({ last_used_step: null })
    .where("user_id", "=", userId)
    .execute();

/**
 * A new session of the user whose sign-in is `seconds` old (older than STEP_UP_SECONDS by
 * default), and its refreshed access token that says so.
 */
export async function agedAccessToken(t: TestApp, user: UserRow, seconds = 600): Promise<string> {
  const pair = await t.login(user);
  await t.db
    .updateTable("sessions")
    .set({ authenticated_at: new Date(Date.now() - seconds * 1000) })
    .where("user_id", "=", user.id)
    .execute();
  const refreshed = await t.app.inject({
    method: "POST",
    url: "/api/auth/refresh",
    payload: { refreshToken: pair.refreshToken },
  });
  expect(refreshed.statusCode, refreshed.body).toBe(200);
  return refreshed.json().accessToken;
}
