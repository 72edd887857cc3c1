import { createHash, createHmac, createSecretKey, randomUUID } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";
import { loadSigningSecret } from "./signing-key.ts";

const ALGORITHM = "HS256";
const TYPE = "at+jwt";

export type AccessTokenSubject = { userId: number; tokenVersion: number; sessionId: number };

export type TokenService = {
  /** A key derived from the signing secret for other tamper-evident values (list cursors). */
  cursorKey: Uint8Array;
  signAccessToken: (
    subject: AccessTokenSubject,
  ) => Promise<{ accessToken: string; expiresIn: number }>;
  /** Checks signature, algorithm, type, issuer, audience and expiry; throws UNAUTHENTICATED. */
  verifyAccessToken: (token: string) => Promise<AccessTokenSubject>;
};

const unauthenticated = () => new AppError("UNAUTHENTICATED", "Invalid or expired access token");

const positiveInt = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

export function createTokenService(
  config: Pick<
    Config,
    "JWT_SECRET" | "DATA_DIR" | "JWT_ISSUER" | "JWT_AUDIENCE" | "ACCESS_TOKEN_TTL"
  >,
): TokenService {
  const secret = loadSigningSecret(config.JWT_SECRET, config.DATA_DIR);
  // Imported once: building the key per request costs more than the verification itself.
  const key = createSecretKey(secret);
  const kid = createHash("sha256").update(secret).digest("base64url").slice(0, 16);

  return {
    cursorKey: createHmac("sha256", secret).update("list-cursor").digest(),
    async signAccessToken({ userId, tokenVersion, sessionId }) {
      const accessToken = await new SignJWT({ sid: sessionId, ver: tokenVersion })
        .setProtectedHeader({ alg: ALGORITHM, typ: TYPE, kid })
        .setIssuer(config.JWT_ISSUER)
        .setAudience(config.JWT_AUDIENCE)
        .setSubject(String(userId))
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${config.ACCESS_TOKEN_TTL}s`)
        .sign(key);
      return { accessToken, expiresIn: config.ACCESS_TOKEN_TTL };
    },

    async verifyAccessToken(token) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          typ: TYPE,
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
          requiredClaims: ["sub", "jti", "iat", "exp"],
        });
        const userId = /^[1-9]\d{0,9}$/.test(payload.sub ?? "") ? Number(payload.sub) : undefined;
        const sessionId = positiveInt(payload.sid);
        const tokenVersion = positiveInt(payload.ver);
        if (protectedHeader.kid !== kid || !userId || !sessionId || tokenVersion === undefined) {
          throw unauthenticated();
        }
        return { userId, sessionId, tokenVersion };
      } catch {
        throw unauthenticated();
      }
    },
  };
}
