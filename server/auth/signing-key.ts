import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The HS256 secret: JWT_SECRET when set, else one generated on first start and kept under
 * DATA_DIR/keys (never committed: data/ is ignored). In-memory data dirs get a fresh one.
 */
export function loadSigningSecret(jwtSecret: string | undefined, dataDir: string): Uint8Array {
  if (jwtSecret) return new TextEncoder().encode(jwtSecret);
  if (dataDir.startsWith("memory://")) return randomBytes(48);
  const dir = join(dataDir, "keys");
  const file = join(dir, "jwt-secret");
  try {
    return Buffer.from(readFileSync(file, "utf8").trim(), "base64url");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48);
  // "wx" so two processes starting at once cannot overwrite each other's key.
  try {
    writeFileSync(file, secret.toString("base64url"), { mode: 0o600, flag: "wx" });
    return secret;
  } catch {
    return Buffer.from(readFileSync(file, "utf8").trim(), "base64url");
  }
}
