import { createSecretKey } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const OLD_SECRET = "an-old-signing-secret-that-is-long-enough-0001";
const NEW_SECRET = "the-new-signing-secret-that-is-long-enough-0002";
const apps: TestApp[] = [];
afterAll(() => Promise.all(apps.map((app) => app.close())));

async function app(env: Record<string, string>) {
  const t = await createTestApp(env);
  apps.push(t);
  return t;
}

const me = (t: TestApp, token: string) =>
  t.app.inject({
    method: "GET",
    url: "/api/users/me",
    headers: { authorization: `Bearer ${token}` },
  });

describe("signing keys", () => {
  it("keeps verifying tokens of a retired secret listed in JWT_PREVIOUS_SECRETS", async () => {
    const before = await app({ JWT_SECRET: OLD_SECRET });
    const user = await before.createUser();
    const { accessToken } = await before.login(user);
    // A deployment now signing with a new secret and still accepting the old one.
    const rotated = await app({ JWT_SECRET: NEW_SECRET, JWT_PREVIOUS_SECRETS: OLD_SECRET });
    await expect(rotated.app.deps.tokens.verifyAccessToken(accessToken)).resolves.toMatchObject({
      userId: user.id,
    });
    const forgotten = await app({ JWT_SECRET: NEW_SECRET });
    await expect(forgotten.app.deps.tokens.verifyAccessToken(accessToken)).rejects.toMatchObject({
      apiCode: "UNAUTHENTICATED",
    });
  });

  it("publishes the public key at /.well-known/jwks.json with EdDSA and verifies by kid", async () => {
    const t = await app({ JWT_ALGORITHM: "EdDSA" });
    const jwks = await t.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
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
    const user = await t.createUser();
    const { accessToken } = await t.login(user);
    expect(
      JSON.parse(Buffer.from(accessToken.split(".")[0] as string, "base64url").toString()),
    ).toMatchObject({
      alg: "EdDSA",
      kid: key.kid,
    });
    expect((await me(t, accessToken)).statusCode).toBe(200);

    const claims = JSON.parse(
      Buffer.from(accessToken.split(".")[1] as string, "base64url").toString(),
    );
    // HS/EdDSA confusion: the public key's bytes used as an HMAC secret.
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: key.kid })
      .sign(createSecretKey(Buffer.from(key.x, "base64url")));
    expect((await me(t, confused)).statusCode).toBe(401);
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
    expect((await me(t, embedded)).statusCode).toBe(401);
    // Odd kids are refused before any lookup.
    for (const kid of ["../../etc/passwd", "", "x".repeat(65)]) {
      const odd = await new SignJWT(claims)
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid })
        .sign(attacker.privateKey);
      expect((await me(t, odd)).statusCode).toBe(401);
    }
  });

  it("has no JWKS with a shared secret", async () => {
    const t = await app({});
    expect((await t.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).statusCode).toBe(
      404,
    );
  });
});
