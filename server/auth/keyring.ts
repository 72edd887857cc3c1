import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, type JWK } from "jose";
import type { Config } from "../config.ts";
import { loadSigningSecret } from "./signing-key.ts";

export type JwtAlgorithm = "HS256" | "EdDSA" | "ES256";

export type VerificationKey = {
  kid: string;
  alg: JwtAlgorithm;
  key: Awaited<ReturnType<typeof importJWK>>;
};

/**
 * The keys tokens are signed and verified with. One current key signs; it and the retired keys
 * still listed verify, each only with its own algorithm, chosen by `kid`.
 */
export type Keyring = {
  current: { kid: string; alg: JwtAlgorithm; key: Awaited<ReturnType<typeof importPKCS8>> };
  verification: Map<string, VerificationKey>;
  /** The public keys, for `/.well-known/jwks.json`; absent with a shared secret (HS256). */
  jwks: { keys: JWK[] } | undefined;
  /** A secret derived from the signing key, for other tamper-evident values (list cursors). */
  derivedSecret: Uint8Array;
};

export type KeyringConfig = Pick<
  Config,
  | "JWT_ALGORITHM"
  | "JWT_SECRET"
  | "JWT_PREVIOUS_SECRETS"
  | "JWT_PRIVATE_KEY"
  | "JWT_PREVIOUS_PUBLIC_KEYS"
  | "DATA_DIR"
>;

const secretKid = (secret: Uint8Array) =>
  createHash("sha256").update(secret).digest("base64url").slice(0, 16);

export async function loadKeyring(config: KeyringConfig): Promise<Keyring> {
  if (config.JWT_ALGORITHM === "HS256") {
    const secret = loadSigningSecret(config.JWT_SECRET, config.DATA_DIR);
    const previous = config.JWT_PREVIOUS_SECRETS.map((value) => new TextEncoder().encode(value));
    const verification = new Map<string, VerificationKey>();
    for (const bytes of [secret, ...previous]) {
      verification.set(secretKid(bytes), {
        kid: secretKid(bytes),
        alg: "HS256",
        key: await hmacKey(bytes),
      });
    }
    return {
      current: { kid: secretKid(secret), alg: "HS256", key: await hmacKey(secret) },
      verification,
      jwks: undefined,
      derivedSecret: createHmac("sha256", secret).update("derived").digest(),
    };
  }

  const alg = config.JWT_ALGORITHM;
  const privateKey = createPrivateKey(
    config.JWT_PRIVATE_KEY ?? generatedPrivateKey(alg, config.DATA_DIR),
  );
  const currentJwk = await publicJwk(createPublicKey(privateKey), alg);
  const retired = await Promise.all(
    config.JWT_PREVIOUS_PUBLIC_KEYS.map(async (jwk) => ({
      ...jwk,
      kid: jwk.kid ?? (await calculateJwkThumbprint(jwk as JWK)),
    })),
  );
  const verification = new Map<string, VerificationKey>();
  for (const jwk of [currentJwk, ...retired] as JWK[]) {
    const jwkAlg = (jwk.alg ?? alg) as JwtAlgorithm;
    const kid = jwk.kid as string;
    verification.set(kid, { kid, alg: jwkAlg, key: await importJWK(jwk, jwkAlg) });
  }
  return {
    current: {
      kid: currentJwk.kid as string,
      alg,
      key: await importPKCS8(privateKey.export({ format: "pem", type: "pkcs8" }) as string, alg),
    },
    verification,
    jwks: { keys: [currentJwk, ...retired] },
    derivedSecret: createHmac("sha256", privateKey.export({ format: "der", type: "pkcs8" }))
      .update("derived")
      .digest(),
  };
}

/**
 * Keys are WebCrypto keys, imported once: jose turns a KeyObject or raw bytes back into a
 * CryptoKey on every sign and verify, which costs more than the HMAC itself.
 */
const hmacKey = (secret: Uint8Array) =>
  // A copy in an ArrayBuffer of its own: what WebCrypto's types (Node's and the DOM's) accept.
  crypto.subtle.importKey("raw", new Uint8Array(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);

async function publicJwk(key: KeyObject, alg: JwtAlgorithm): Promise<JWK> {
  const jwk = await exportJWK(key);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: "sig" };
}

/** A key pair made on first start and kept under DATA_DIR/keys (never committed). */
function generatedPrivateKey(alg: Exclude<JwtAlgorithm, "HS256">, dataDir: string): string {
  const generate = () =>
    (alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("ec", { namedCurve: "P-256" })
    ).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  if (dataDir.startsWith("memory://")) return generate();
  const dir = join(dataDir, "keys");
  const file = join(dir, `jwt-${alg.toLowerCase()}.pem`);
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, generate(), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return readFileSync(file, "utf8");
}
