import { createHmac, hkdfSync, randomUUID } from "node:crypto";
import { type JWTHeaderParameters, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config.ts";
import { AppError } from "../errors/api-errors.ts";
import { setBounded } from "../limits/bounded-map.ts";
import { type Keyring, type KeyringConfig, loadKeyring } from "./keyring.ts";

const TYPE = "at+jwt";
const KID = /^[A-Za-z0-9_-]{1,64}$/;
/** Verified tokens remembered at most (about 5 MB). */
const MAX_REMEMBERED = 10_000;
/**
 * Clock skew tolerated between this process and whatever signed the token (another instance of
 * the service): an `iat` further ahead, or a lifetime longer than ACCESS_TOKEN_TTL by more than
 * this, is not a token the service issued, whoever holds the key.
 */
const CLOCK_SKEW_SECONDS = 60;
/** Header parameters that would let a token choose its own key; never honoured, always refused. */
const KEY_CARRYING_HEADERS = ["jwk", "jku", "x5u", "x5c", "x5t", "crit"] as const;

export type AccessTokenSubject = {
  userId: number;
  tokenVersion: number;
  sessionId: number;
  /**
   * When the user last proved who they are in this session (sign-in, second factor or step-up),
   * in seconds since the epoch: the `auth_time` claim (OpenID Connect's name). Kept across
   * refreshes (it is the session's `authenticated_at`); 0 in a token signed before it existed.
   */
  authTime: number;
  /**
   * The `enrol` claim: a token good only for enrolling a second factor, given to an admin who
   * must have one (REQUIRE_SECOND_FACTOR_FOR_ADMINS) and has none yet. It comes without a
   * refresh token.
   */
  enrolmentOnly: boolean;
};

/** Every sign-in path's session time: what `auth_time` says for a session's `authenticated_at`. */
export const authTimeOf = (authenticatedAt: Date): number =>
  Math.floor(authenticatedAt.getTime() / 1000);

export type TokenService = {
  /** A key derived from the signing key for other tamper-evident values (list cursors). */
  cursorKey: Uint8Array;
  /** A key derived from the signing key that derives each refresh token's successor. */
  refreshKey: Uint8Array;
  /**
   * A key derived (HKDF-SHA256) from the signing key material for second factors: it encrypts
   * TOTP secrets (AES-256-GCM) and keys the recovery codes' hashes.
   */
  factorKey: Uint8Array;
  /** The public keys, when an asymmetric algorithm is configured. */
  jwks: Keyring["jwks"];
  signAccessToken: (
    subject: AccessTokenSubject,
  ) => Promise<{ accessToken: string; expiresIn: number }>;
  /** Checks key, algorithm, type, issuer, audience and expiry; throws UNAUTHENTICATED. */
  verifyAccessToken: (token: string) => Promise<AccessTokenSubject>;
};

const unauthenticated = () => new AppError("UNAUTHENTICATED", "Invalid or expired access token");

const positiveInt = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

export async function createTokenService(
  config: KeyringConfig & Pick<Config, "JWT_ISSUER" | "JWT_AUDIENCE" | "ACCESS_TOKEN_TTL">,
): Promise<TokenService> {
  // Keys are imported once: building a key per request costs more than verifying.
  const keyring = await loadKeyring(config);
  const algorithms = [...new Set([...keyring.verification.values()].map((key) => key.alg))];

  // Picks the verification key by `kid`, pinned to that key's own algorithm.
  const resolveKey = (header: JWTHeaderParameters) => {
    const key =
      header.kid && KID.test(header.kid) ? keyring.verification.get(header.kid) : undefined;
    const carriesKey = KEY_CARRYING_HEADERS.some((name) => name in header);
    if (!key || key.alg !== header.alg || carriesKey) throw unauthenticated();
    return key.key;
  };

  // Tokens whose signature and claims checked out, until they expire: a client sends the same
  // token many times, and only its expiry can change the verdict (the keys are fixed for the
  // process's life; revocation is authenticate()'s per-request check).
  const verified = new Map<string, { subject: AccessTokenSubject; expiresAt: number }>();

  return {
    cursorKey: keyring.derivedSecret,
    refreshKey: createHmac("sha256", keyring.derivedSecret).update("refresh-successor").digest(),
    factorKey: new Uint8Array(
      hkdfSync("sha256", keyring.derivedSecret, "users-api", "second-factor-secrets v1", 32),
    ),
    jwks: keyring.jwks,
    async signAccessToken({ userId, tokenVersion, sessionId, authTime, enrolmentOnly }) {
      const { current } = keyring;
      const claims = { sid: sessionId, ver: tokenVersion, auth_time: authTime };
      const accessToken = await new SignJWT(enrolmentOnly ? { ...claims, enrol: true } : claims)
        .setProtectedHeader({ alg: current.alg, typ: TYPE, kid: current.kid })
        .setIssuer(config.JWT_ISSUER)
        .setAudience(config.JWT_AUDIENCE)
        .setSubject(String(userId))
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${config.ACCESS_TOKEN_TTL}s`)
        .sign(current.key);
      return { accessToken, expiresIn: config.ACCESS_TOKEN_TTL };
    },

    async verifyAccessToken(token) {
      const known = verified.get(token);
      if (known) {
        if (known.expiresAt > Date.now() / 1000) return known.subject;
        verified.delete(token);
        throw unauthenticated();
      }
      try {
        const { payload } = await jwtVerify(token, resolveKey, {
          algorithms,
          typ: TYPE,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          requiredClaims: ["sub", "jti", "iat", "exp"],
        });
        if (!plausibleLifetime(payload.iat, payload.exp, config.ACCESS_TOKEN_TTL)) {
          throw unauthenticated();
        }
        const userId = /^[1-9]\d{0,9}$/.test(payload.sub ?? "") ? Number(payload.sub) : undefined;
        const sessionId = positiveInt(payload.sid);
        const tokenVersion = positiveInt(payload.ver);
        if (!userId || !sessionId || tokenVersion === undefined) throw unauthenticated();
        const subject = {
          userId,
          sessionId,
          tokenVersion,
          authTime: positiveInt(payload.auth_time) ?? 0,
          enrolmentOnly: payload.enrol === true,
        };
        setBounded(verified, token, { subject, expiresAt: payload.exp as number }, MAX_REMEMBERED);
        return subject;
      } catch {
        throw unauthenticated();
      }
    },
  };
}

/**
 * The service signs `exp = iat + ACCESS_TOKEN_TTL` with `iat` = now: a token issued in the future
 * or living longer was forged with a leaked key or signed by a misconfigured issuer, and would
 * otherwise stay valid for as long as it says.
 */
function plausibleLifetime(iat: unknown, exp: unknown, ttlSeconds: number): boolean {
  if (typeof iat !== "number" || typeof exp !== "number") return false;
  const now = Date.now() / 1000;
  return iat <= now + CLOCK_SKEW_SECONDS && exp - iat <= ttlSeconds + CLOCK_SKEW_SECONDS;
}
