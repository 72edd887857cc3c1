import { createHmac, randomInt } from "node:crypto";

export const RECOVERY_CODE_COUNT = 10;
/** Ten characters of an unambiguous 31-letter alphabet (no i, l, o, 0, 1): about 49 bits. */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const LENGTH = 10;

/** A code as shown: `xxxxx-xxxxx`. */
export function newRecoveryCode(): string {
  let code = "";
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** What is typed, with case, spaces and hyphens ignored. */
const normalise = (code: string) => code.toLowerCase().replace(/[\s-]/g, "");

/**
 * A keyed hash (HMAC-SHA-256 under the factor key, with the user's id): a database dump alone
 * does not let anyone try the codes offline.
 */
export const hashRecoveryCode = (key: Uint8Array, userId: number, code: string): string =>
  createHmac("sha256", key)
    .update(`recovery:${userId}:${normalise(code)}`)
    .digest("base64url");
