import { createHmac, randomBytes } from "node:crypto";

/** A new signing secret as Standard Webhooks writes it: `whsec_` and 32 random bytes in base64. */
export const newSigningSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`;

/** The key a `whsec_` secret stands for. */
const keyOf = (secret: string): Buffer => Buffer.from(secret.replace(/^whsec_/, ""), "base64");

/**
 * The `webhook-signature` header value (Standard Webhooks): `v1,` and the base64 HMAC-SHA256 of
 * `id.timestamp.body` under each secret, space-separated (the current one first; the previous one
 * while a rotation's grace lasts, so a receiver may switch keys when it likes).
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`,
    )
    .join(" ");
}
