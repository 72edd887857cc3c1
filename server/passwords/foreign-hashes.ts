import { pbkdf2, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import bcrypt from "bcryptjs";

// Password hashes made elsewhere and brought in by an import (server/porting/): bcrypt, scrypt
// and PBKDF2-SHA256. Each is parsed and its cost bounded before any work, so an imported hash
// cannot tie up the service at login; the first successful login replaces it with our argon2id
// (needsRehash is true for anything that is not argon2id at our parameters). argon2i/argon2id
// PHC strings are verified by @node-rs/argon2 itself (hash.ts).

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

/** The most each format may cost per verify (about a second of one core at most). */
export const FOREIGN_HASH_LIMITS = {
  bcryptCost: 12,
  scryptLogN: 17,
  scryptR: 16,
  scryptP: 4,
  /** 128·N·r·p bytes. */
  scryptMemoryBytes: 256 * 1024 * 1024,
  pbkdf2Iterations: 1_000_000,
  minSaltBytes: 8,
  minHashBytes: 16,
  maxHashBytes: 128,
} as const;

type ForeignHash =
  | { kind: "bcrypt"; encoded: string }
  | { kind: "scrypt"; n: number; r: number; p: number; salt: Buffer; hash: Buffer }
  | { kind: "pbkdf2-sha256"; iterations: number; salt: Buffer; hash: Buffer };

const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/.]+)\$([A-Za-z0-9+/.]+)$/;
const PBKDF2 =
  /^\$pbkdf2-sha256\$(?:i=)?(\d{1,7})(?:,l=\d{1,3})?\$([A-Za-z0-9+/.]+)\$([A-Za-z0-9+/.]+)$/;

/** PHC's base64 without padding, or passlib's variant (`.` for `+`). */
const b64 = (text: string) => Buffer.from(text.replaceAll(".", "+"), "base64");

/** The foreign hash `encoded` is, within the limits; undefined for anything else. */
export function parseForeignHash(encoded: string): ForeignHash | undefined {
  if (encoded.length > 400) return undefined;
  const L = FOREIGN_HASH_LIMITS;
  const bcryptMatch = BCRYPT.exec(encoded);
  if (bcryptMatch) {
    const cost = Number(bcryptMatch[1]);
    return cost >= 4 && cost <= L.bcryptCost ? { kind: "bcrypt", encoded } : undefined;
  }
  const scryptMatch = SCRYPT.exec(encoded);
  if (scryptMatch) {
    const [, ln = "", r = "", p = "", salt = "", hash = ""] = scryptMatch;
    const parsed = {
      kind: "scrypt" as const,
      n: 2 ** Number(ln),
      r: Number(r),
      p: Number(p),
      salt: b64(salt),
      hash: b64(hash),
    };
    const memory = 128 * parsed.n * parsed.r * parsed.p;
    const ok =
      Number(ln) >= 1 &&
      Number(ln) <= L.scryptLogN &&
      parsed.r >= 1 &&
      parsed.r <= L.scryptR &&
      parsed.p >= 1 &&
      parsed.p <= L.scryptP &&
      memory <= L.scryptMemoryBytes &&
      sizesOk(parsed.salt, parsed.hash);
    return ok ? parsed : undefined;
  }
  const pbkdf2Match = PBKDF2.exec(encoded);
  if (pbkdf2Match) {
    const [, iterations = "", salt = "", hash = ""] = pbkdf2Match;
    const parsed = {
      kind: "pbkdf2-sha256" as const,
      iterations: Number(iterations),
      salt: b64(salt),
      hash: b64(hash),
    };
    const ok =
      parsed.iterations >= 1 &&
      parsed.iterations <= L.pbkdf2Iterations &&
      sizesOk(parsed.salt, parsed.hash);
    return ok ? parsed : undefined;
  }
  return undefined;
}

const sizesOk = (salt: Buffer, hash: Buffer) =>
  salt.length >= FOREIGN_HASH_LIMITS.minSaltBytes &&
  hash.length >= FOREIGN_HASH_LIMITS.minHashBytes &&
  hash.length <= FOREIGN_HASH_LIMITS.maxHashBytes;

/** True when `password` matches; false for a wrong password (never throws for a parsed hash). */
export async function verifyForeignHash(parsed: ForeignHash, password: string): Promise<boolean> {
  try {
    switch (parsed.kind) {
      case "bcrypt":
        return await bcrypt.compare(password, parsed.encoded);
      case "scrypt": {
        const { n, r, p, salt, hash } = parsed;
        const derived = await scryptAsync(password, salt, hash.length, {
          N: n,
          r,
          p,
          maxmem: FOREIGN_HASH_LIMITS.scryptMemoryBytes + 1024 * 1024,
        });
        return timingSafeEqual(derived, hash);
      }
      case "pbkdf2-sha256": {
        const { iterations, salt, hash } = parsed;
        const derived = await pbkdf2Async(password, salt, iterations, hash.length, "sha256");
        return timingSafeEqual(derived, hash);
      }
    }
  } catch {
    return false;
  }
}
