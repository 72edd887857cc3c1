import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Second-factor secrets at rest: AES-256-GCM under the token service's `factorKey` (HKDF from the
 * signing key material), bound by its additional data to what it belongs to (`totp:<userId>`),
 * so a ciphertext copied to another user's row does not open. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
const VERSION = "v1";

export function seal(key: Uint8Array, context: string, plaintext: Uint8Array): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), body]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
}

/** The plaintext, or undefined when the box is not one this key sealed for this context. */
export function open(key: Uint8Array, context: string, sealed: string): Buffer | undefined {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== VERSION || !iv || !tag || body === undefined) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]);
  } catch {
    return undefined;
  }
}
