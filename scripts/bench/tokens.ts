// Access tokens minted by the bench itself, exactly as server/auth/tokens.ts signs them (HS256,
// typ at+jwt, kid = first 16 characters of base64url(sha256(secret)), iss/aud/sub/jti/iat/exp,
// sid = session id, ver = users.token_version, auth_time = now), with the fixed secret the bench
// gives the service.

import { createHash, createSecretKey, randomUUID } from "node:crypto";
import { SignJWT } from "jose";

/** The bench's fixed JWT_SECRET (the service and the baseline get it in their environment). */
export const BENCH_JWT_SECRET = "users-api-bench-secret-never-used-in-production-01";
export const BENCH_ISSUER = "users-api";
export const BENCH_AUDIENCE = "users-api";
/**
 * The life of the bench's tokens, long enough for a whole run. The service is started with the
 * same ACCESS_TOKEN_TTL: it refuses tokens that live longer than that.
 */
export const BENCH_TOKEN_TTL = 2 * 3600;

export function keyId(secret: string): string {
  return createHash("sha256")
    .update(new TextEncoder().encode(secret))
    .digest("base64url")
    .slice(0, 16);
}

export async function mintAccessToken(
  secret: string,
  subject: { userId: number; sessionId: number; tokenVersion: number },
  ttlSeconds = BENCH_TOKEN_TTL,
): Promise<string> {
  const bytes = new TextEncoder().encode(secret);
  const authTime = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: subject.sessionId, ver: subject.tokenVersion, auth_time: authTime })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: keyId(secret) })
    .setIssuer(BENCH_ISSUER)
    .setAudience(BENCH_AUDIENCE)
    .setSubject(String(subject.userId))
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(createSecretKey(bytes));
}
