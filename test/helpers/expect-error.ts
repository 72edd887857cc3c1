import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { type ApiErrorCode, ZApiErrorBody } from "../../server/errors/api-errors.ts";

/** What no answer may hold: a password hash, a stored token's hash, the token version behind it. */
export const SECRETS = /\$argon2|password_hash|passwordHash|token_version|token_hash/;

/**
 * Asserts an answer in the error contract: the status, a JSON body of exactly the contract's
 * fields with `code`, and no secret in it. `secrets` is narrowed where the request itself sent a
 * field named like one (the message may then name it). Returns the parsed body.
 */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  code: ApiErrorCode,
  secrets: RegExp = SECRETS,
) {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.body).not.toMatch(secrets);
  const body = ZApiErrorBody.strict().parse(res.json());
  expect(body.code).toBe(code);
  return body;
}

/**
 * A 401 that tells the client to send a bearer token, without saying what was wrong with the one
 * it sent (no word from the JWT library).
 */
export function expectUnauthenticated(res: LightMyRequestResponse) {
  expect(res.headers["www-authenticate"]).toBe("Bearer");
  expect(res.body).not.toMatch(/JWS|jose/);
  return expectError(res, 401, "UNAUTHENTICATED");
}

/**
 * A refused login. Returns the raw body: enumeration tests compare answers byte for byte (a wrong
 * password, an unknown email and a lock must be indistinguishable).
 */
export function expectInvalidCredentials(res: LightMyRequestResponse) {
  expectError(res, 401, "INVALID_CREDENTIALS");
  return res.body;
}
