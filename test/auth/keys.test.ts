import { createSecretKey } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTokenService } from "../../server/auth/tokens.ts";
import { loadConfig } from "../../server/config.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const OLD_SECRET = "an-old-signing-secret-that-is-long-enough-0001";
const NEW_SECRET = "the-new-signing-secret-that-is-long-enough-0002";
let ed: TestApp;
beforeAll(async () => {
  ed = await createTestApp({ JWT_ALGORITHM: "EdDSA" });
});
afterAll(() => ed.close());

/** A token service alone: rotation needs no database. */
const tokenService = (env: Record<string, string>) =>
  createTokenService(loadConfig({ DATA_DIR: "memory://", ...env }));

const subject = {
  userId: 7,
  tokenVersion: 0,
  sessionId: 3,
  authTime: 1_700_000_000,
  enrolmentOnly: false,
};

const me = (t: TestApp, token: string) =>
  t.app.inject({
    method: "GET",
    url: "/api/users/me",
    headers: { authorization: `Bearer ${token}` },
  });

describe("signing keys", () => {
  it("keeps verifying tokens of a retired secret listed in JWT_PREVIOUS_SECRETS", async () => {
    const before = await tokenService({ JWT_SECRET: OLD_SECRET });
    const { accessToken } = await before.signAccessToken(subject);
    // A deployment now signing with a new secret and still accepting the old one.
    const rotated = await tokenService({
      JWT_SECRET: NEW_SECRET,
      JWT_PREVIOUS_SECRETS: OLD_SECRET,
    });
    await expect(rotated.verifyAccessToken(accessToken)).resolves.toEqual(subject);
    const { accessToken: fresh } = await rotated.signAccessToken(subject);
    await expect(before.verifyAccessToken(fresh)).rejects.toMatchObject({
      apiCode: "UNAUTHENTICATED",
    });
    const forgotten = await tokenService({ JWT_SECRET: NEW_SECRET });
    await expect(forgotten.verifyAccessToken(accessToken)).rejects.toMatchObject({
      apiCode: "UNAUTHENTICATED",
    });
  });

  it("publishes the public key at /.well-known/jwks.json with EdDSA and verifies by kid", async () => {
    const jwks = await ed.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(jwks.statusCode).toBe(200);
    const [key] = jwks.json().keys;
    expect(key).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      alg: "EdDSA",
      use: "sig",
      kid: expect.any(String),
    });
    expect(key.d).toBeUndefined();
    const user = await ed.createUser();
    const { accessToken } = await ed.login(user);
    expect(
      JSON.parse(Buffer.from(accessToken.split(".")[0] as string, "base64url").toString()),
    ).toMatchObject({
      alg: "EdDSA",
      kid: key.kid,
    });
    expect((await me(ed, accessToken)).statusCode).toBe(200);

    const claims = JSON.parse(
      Buffer.from(accessToken.split(".")[1] as string, "base64url").toString(),
    );
    // HS/EdDSA confusion: the public key's bytes used as an HMAC secret.
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: key.kid })
      .sign(createSecretKey(Buffer.from(key.x, "base64url")));
    expect((await me(ed, confused)).statusCode).toBe(401);
    // A token that carries its own key in the header.
    const attacker = await generateKeyPair("EdDSA");
    const embedded = await new SignJWT(claims)
      .setProtectedHeader({
        alg: "EdDSA",
        typ: "at+jwt",
        kid: key.kid,
        jwk: await exportJWK(attacker.publicKey),
      })
      .sign(attacker.privateKey);
    expect((await me(ed, embedded)).statusCode).toBe(401);
    // Odd kids are refused before any lookup.
    for (const kid of ["../../etc/passwd", "", "x".repeat(65)]) {
      const odd = await new SignJWT(claims)
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid })
        .sign(attacker.privateKey);
      expect((await me(ed, odd)).statusCode).toBe(401);
    }
  });

  it("has no JWKS with a shared secret", async () => {
    expect((await tokenService({})).jwks).toBeUndefined();
  });
});

describe("verified tokens remembered in memory", () => {
  it("are refused once they expire, though the signature was checked before", async () => {
    const service = await tokenService({ JWT_SECRET: NEW_SECRET, ACCESS_TOKEN_TTL: "60" });
    const { accessToken } = await service.signAccessToken(subject);
    await expect(service.verifyAccessToken(accessToken)).resolves.toEqual(subject);
    await expect(service.verifyAccessToken(accessToken)).resolves.toEqual(subject);
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ["Date"] });
    try {
      await expect(service.verifyAccessToken(accessToken)).rejects.toMatchObject({
        apiCode: "UNAUTHENTICATED",
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it("never stand in for a token that differs by a single character", async () => {
    const service = await tokenService({ JWT_SECRET: NEW_SECRET });
    const { accessToken } = await service.signAccessToken(subject);
    await service.verifyAccessToken(accessToken);
    // The first character of the signature: six bits that always count.
    const at = accessToken.lastIndexOf(".") + 1;
    const changed = accessToken[at] === "A" ? "B" : "A";
    const forged = accessToken.slice(0, at) + changed + accessToken.slice(at + 1);
    await expect(service.verifyAccessToken(forged)).rejects.toMatchObject({
      apiCode: "UNAUTHENTICATED",
    });
  });
});
