import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { ZPasskey, ZPasskeyList } from "../../routers/passkeys/passkey-schema.ts";
import { expectError, SECRETS } from "../helpers/expect-error.ts";
import { type SoftAuthenticator, softAuthenticator } from "../helpers/soft-authenticator.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

// Passkeys through the REST door, with a software authenticator making real signatures.

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Auth = { authorization: string };

const post = (url: string, payload: unknown, headers: Partial<Auth> = {}) =>
  t.app.inject({ method: "POST", url, payload: payload as object, headers });

const authenticator = () => softAuthenticator(t.config.APP_URL);

async function registrationOptions(auth: Auth) {
  const res = await post("/api/users/me/passkeys/registration-options", {}, auth);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Registers a passkey of `device` for the caller and returns it as listed. */
async function register(auth: Auth, device: SoftAuthenticator, name = "Laptop") {
  const webauthn = device.create(await registrationOptions(auth));
  const res = await post("/api/users/me/passkeys", { name, webauthn }, auth);
  expect(res.statusCode, res.body).toBe(201);
  return ZPasskey.strict().parse(res.json());
}

async function signInOptions() {
  const res = await post("/api/auth/passkey/options", {});
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const signIn = (webauthn: unknown) => post("/api/auth/passkey/token", { webauthn });

describe("registration", () => {
  it("offers options for a discoverable credential, no attestation, user verification preferred", async () => {
    const { auth, user } = await t.userWithToken();
    const options = await registrationOptions(auth);
    expect(options.rp).toEqual({ id: "localhost", name: "Users API" });
    expect(options.attestation).toBe("none");
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: "required",
      requireResidentKey: true,
      userVerification: "preferred",
    });
    expect(options.user.name).toBe(user.email);
    // An opaque 256-bit handle, not the database id.
    expect(Buffer.from(options.user.id, "base64url")).toHaveLength(32);
    expect(Buffer.from(options.challenge, "base64url")).toHaveLength(32);
    expect(options.excludeCredentials).toEqual([]);
    expect(options.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(-7);
  });

  it("registers several named passkeys, lists them without keys, and excludes them next time", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    const first = await register(auth, device, "Work laptop");
    const second = await register(auth, authenticator(), "Phone");
    expect(first).toMatchObject({
      name: "Work laptop",
      transports: ["internal"],
      lastUsedAt: null,
    });

    const list = await t.app.inject({
      method: "GET",
      url: "/api/users/me/passkeys",
      headers: auth,
    });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toMatch(/public_?key|credential/i);
    expect(
      ZPasskeyList.strict()
        .parse(list.json())
        .passkeys.map((p) => p.id),
    ).toEqual([first.id, second.id]);
    const options = await registrationOptions(auth);
    expect(options.excludeCredentials).toHaveLength(2);
    // One WebAuthn user for all of a user's passkeys.
    const handles = await t.db
      .selectFrom("passkeys")
      .select("user_handle")
      .where("id", "in", [first.id, second.id])
      .execute();
    expect(new Set(handles.map((h) => h.user_handle)).size).toBe(1);
    expect(options.user.id).toBe(handles[0]?.user_handle);
  });

  it("uses a challenge once: the same attestation again is a 400", async () => {
    const { auth } = await t.userWithToken();
    const webauthn = authenticator().create(await registrationOptions(auth));
    expect((await post("/api/users/me/passkeys", { webauthn }, auth)).statusCode).toBe(201);
    expectError(await post("/api/users/me/passkeys", { webauthn }, auth), 400, "VALIDATION_ERROR");
  });

  it("refuses an expired challenge, and one issued to another user", async () => {
    const alice = await t.userWithToken();
    const expired = authenticator().create(await registrationOptions(alice.auth));
    await t.db
      .updateTable("webauthn_challenges")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", alice.user.id)
      .execute();
    expectError(
      await post("/api/users/me/passkeys", { webauthn: expired }, alice.auth),
      400,
      "VALIDATION_ERROR",
    );

    const bob = await t.userWithToken();
    const forAlice = authenticator().create(await registrationOptions(alice.auth));
    expectError(
      await post("/api/users/me/passkeys", { webauthn: forAlice }, bob.auth),
      400,
      "VALIDATION_ERROR",
    );
    // Bob's attempt spent it.
    expectError(
      await post("/api/users/me/passkeys", { webauthn: forAlice }, alice.auth),
      400,
      "VALIDATION_ERROR",
    );
  });

  it("stores one passkey when one attestation arrives many times at once, round after round", async () => {
    const { auth, user } = await t.userWithToken();
    for (let round = 0; round < 4; round += 1) {
      const webauthn = authenticator().create(await registrationOptions(auth));
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => post("/api/users/me/passkeys", { webauthn }, auth)),
      );
      expect(answers.map((res) => res.statusCode).sort()).toEqual([201, 400, 400, 400, 400]);
    }
    const stored = await t.db
      .selectFrom("passkeys")
      .select("id")
      .where("user_id", "=", user.id)
      .execute();
    expect(stored).toHaveLength(4);
  });

  it("refuses an attestation made for another origin", async () => {
    const { auth } = await t.userWithToken();
    const webauthn = softAuthenticator("https://evil.example", "localhost").create(
      await registrationOptions(auth),
    );
    expectError(await post("/api/users/me/passkeys", { webauthn }, auth), 400, "VALIDATION_ERROR");
  });

  it("refuses the same credential on a second account with 409", async () => {
    const alice = await t.userWithToken();
    const bob = await t.userWithToken();
    const device = authenticator();
    const webauthn = device.create(await registrationOptions(alice.auth));
    expect((await post("/api/users/me/passkeys", { webauthn }, alice.auth)).statusCode).toBe(201);
    // The same credential answering Bob's challenge.
    const options = await registrationOptions(bob.auth);
    const replayed = {
      ...webauthn,
      response: {
        ...webauthn.response,
        clientDataJSON: Buffer.from(
          JSON.stringify({
            type: "webauthn.create",
            challenge: options.challenge,
            origin: t.config.APP_URL,
          }),
        ).toString("base64url"),
      },
    };
    // Its authenticator data was made for Alice's ceremony, but nothing in it names the challenge:
    // the signature-free "none" attestation verifies, and the store refuses the duplicate.
    expectError(
      await post("/api/users/me/passkeys", { webauthn: replayed }, bob.auth),
      409,
      "CONFLICT",
    );
  });

  it("answers bad and oversized input with 400, never 500", async () => {
    const { auth } = await t.userWithToken();
    const good = authenticator().create(await registrationOptions(auth));
    const bodies: unknown[] = [
      {},
      { webauthn: null },
      { webauthn: { ...good, type: "password" } },
      { webauthn: { ...good, id: "not base64url!" } },
      {
        webauthn: {
          ...good,
          response: { ...good.response, attestationObject: "A".repeat(20_000) },
        },
      },
      { webauthn: { ...good, response: { ...good.response, attestationObject: "AAAA" } } },
      { webauthn: { ...good, response: { ...good.response, clientDataJSON: "e30" } } },
      { webauthn: { ...good, response: { ...good.response, transports: ["carrier-pigeon"] } } },
      { webauthn: good, name: "" },
      { webauthn: good, name: "x".repeat(65) },
      { webauthn: good, name: "a\u0000b" },
      { webauthn: good, extra: 1 },
    ];
    for (const payload of bodies) {
      expectError(await post("/api/users/me/passkeys", payload, auth), 400, "VALIDATION_ERROR");
    }
  });

  it("needs a bearer token", async () => {
    expectError(
      await post("/api/users/me/passkeys/registration-options", {}),
      401,
      "UNAUTHENTICATED",
    );
    expect((await t.app.inject({ method: "GET", url: "/api/users/me/passkeys" })).statusCode).toBe(
      401,
    );
  });
});

describe("rename and remove", () => {
  it("renames and removes one's own passkey; someone else's id is a 404 that changes nothing", async () => {
    const alice = await t.userWithToken();
    const bob = await t.userWithToken();
    const passkey = await register(alice.auth, authenticator());
    const url = `/api/users/me/passkeys/${passkey.id}`;

    expectError(
      await t.app.inject({
        method: "PATCH",
        url,
        payload: { name: "Mine now" },
        headers: bob.auth,
      }),
      404,
      "NOT_FOUND",
    );
    expectError(await t.app.inject({ method: "DELETE", url, headers: bob.auth }), 404, "NOT_FOUND");

    const renamed = await t.app.inject({
      method: "PATCH",
      url,
      payload: { name: "  Desk key " },
      headers: alice.auth,
    });
    expect(renamed.statusCode).toBe(200);
    expect(ZPasskey.strict().parse(renamed.json()).name).toBe("Desk key");

    const removed = await t.app.inject({ method: "DELETE", url, headers: alice.auth });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({ success: true, message: "Passkey removed" });
    expectError(
      await t.app.inject({ method: "DELETE", url, headers: alice.auth }),
      404,
      "NOT_FOUND",
    );
    const left = await t.app.inject({
      method: "GET",
      url: "/api/users/me/passkeys",
      headers: alice.auth,
    });
    expect(left.json()).toEqual({ passkeys: [] });
  });

  it("refuses malformed ids and names with 400", async () => {
    const { auth } = await t.userWithToken();
    for (const id of ["abc", "0", "1.5", "99999999999"]) {
      const res = await t.app.inject({
        method: "DELETE",
        url: `/api/users/me/passkeys/${id}`,
        headers: auth,
      });
      expect(res.statusCode, id).toBe(400);
    }
    const res = await t.app.inject({
      method: "PATCH",
      url: "/api/users/me/passkeys/1",
      payload: { name: "" },
      headers: auth,
    });
    expectError(res, 400, "VALIDATION_ERROR");
  });
});

describe("an admin's view of a user's passkeys", () => {
  it("shows an Admin a User's passkeys (names and dates), and refuses a User and an Admin over an AppAdmin", async () => {
    const owner = await t.userWithToken();
    await register(owner.auth, authenticator(), "Owner's key");
    const admin = await t.userWithToken({ role: "Admin" });
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/${owner.user.id}/passkeys`,
      headers: admin.auth,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(SECRETS);
    expect(
      ZPasskeyList.strict()
        .parse(res.json())
        .passkeys.map((p) => p.name),
    ).toEqual(["Owner's key"]);

    const other = await t.userWithToken();
    expectError(
      await t.app.inject({
        method: "GET",
        url: `/api/users/${owner.user.id}/passkeys`,
        headers: other.auth,
      }),
      403,
      "UNAUTHORIZED",
    );
    const appAdmin = await t.userWithToken({ role: "AppAdmin" });
    expectError(
      await t.app.inject({
        method: "GET",
        url: `/api/users/${appAdmin.user.id}/passkeys`,
        headers: admin.auth,
      }),
      403,
      "UNAUTHORIZED",
    );
    expectError(
      await t.app.inject({
        method: "GET",
        url: "/api/users/2147483647/passkeys",
        headers: admin.auth,
      }),
      404,
      "USER_NOT_FOUND",
    );
  });
});

describe("signing in with a passkey alone", () => {
  it("gives a token pair whose access token works, and records the use", async () => {
    const { auth, user } = await t.userWithToken();
    const device = authenticator();
    const passkey = await register(auth, device);
    const options = await signInOptions();
    expect(options).toMatchObject({
      rpId: "localhost",
      userVerification: "required",
      allowCredentials: [],
    });

    const res = await signIn(device.get(options));
    expect(res.statusCode, res.body).toBe(200);
    const pair = ZTokenPair.strict().parse(res.json());
    const me = await t.app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(me.json().id).toBe(user.id);
    const list = await t.app.inject({
      method: "GET",
      url: "/api/users/me/passkeys",
      headers: auth,
    });
    const used = list.json().passkeys.find((p: { id: number }) => p.id === passkey.id);
    expect(used.lastUsedAt).not.toBeNull();
  });

  it("uses a sign-in challenge once", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    await register(auth, device);
    const assertion = device.get(await signInOptions());
    expect((await signIn(assertion)).statusCode).toBe(200);
    expectError(await signIn(assertion), 401, "INVALID_CREDENTIALS");
  });

  it("refuses an expired sign-in challenge", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    await register(auth, device);
    const options = await signInOptions();
    await t.db
      .updateTable("webauthn_challenges")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("purpose", "=", "sign-in")
      .execute();
    expectError(await signIn(device.get(options)), 401, "INVALID_CREDENTIALS");
  });

  it("refuses a counter that went back (a cloned authenticator) and keeps the stored counter", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    const passkey = await register(auth, device);
    for (let i = 0; i < 3; i += 1)
      expect((await signIn(device.get(await signInOptions()))).statusCode).toBe(200);
    const counterNow = async () =>
      Number(
        (
          await t.db
            .selectFrom("passkeys")
            .select("counter")
            .where("id", "=", passkey.id)
            .executeTakeFirstOrThrow()
        ).counter,
      );
    const before = await counterNow();
    expect(before).toBe(4);
    device.setCounter(2);
    expectError(await signIn(device.get(await signInOptions())), 401, "INVALID_CREDENTIALS");
    expect(await counterNow()).toBe(before);
  });

  it("refuses a suspended or deleted user with the same body as an unknown passkey", async () => {
    const stranger = authenticator();
    stranger.create({ challenge: "AAAA", user: { id: "AAAA" } });
    const unknown = await signIn(stranger.get(await signInOptions()));
    expectError(unknown, 401, "INVALID_CREDENTIALS");

    for (const status of ["suspended", "deleted"] as const) {
      const { auth, user } = await t.userWithToken();
      const device = authenticator();
      await register(auth, device);
      await t.db
        .updateTable("users")
        .set({ status, ...(status === "deleted" && { deleted_at: new Date() }) })
        .where("id", "=", user.id)
        .execute();
      const res = await signIn(device.get(await signInOptions()));
      expectError(res, 401, "INVALID_CREDENTIALS");
      expect(res.body).toBe(unknown.body);
    }
  });

  it("refuses a tampered signature and another user's handle", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    await register(auth, device);
    const assertion = device.get(await signInOptions());
    const signature = Buffer.from(assertion.response.signature, "base64url");
    const last = signature.length - 1;
    signature.writeUInt8(signature.readUInt8(last) ^ 1, last);
    expectError(
      await signIn({
        ...assertion,
        response: { ...assertion.response, signature: signature.toString("base64url") },
      }),
      401,
      "INVALID_CREDENTIALS",
    );

    const next = device.get(await signInOptions());
    expectError(
      await signIn({ ...next, response: { ...next.response, userHandle: "b3RoZXI" } }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("answers bad and oversized assertions with 400", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    await register(auth, device);
    const good = device.get(await signInOptions());
    for (const webauthn of [
      null,
      { ...good, response: { ...good.response, signature: "A".repeat(2000) } },
      { ...good, response: { ...good.response, clientDataJSON: 42 } },
      { ...good, id: "" },
      {
        ...good,
        clientExtensionResults: Object.fromEntries(
          Array.from({ length: 17 }, (_, i) => [`k${i}`, i]),
        ),
      },
    ]) {
      expectError(await signIn(webauthn), 400, "VALIDATION_ERROR");
    }
    // Well-formed but meaningless: a refusal, not a 500.
    expectError(
      await signIn({
        ...good,
        response: { ...good.response, clientDataJSON: "bm90IGpzb24", authenticatorData: "AAAA" },
      }),
      401,
      "INVALID_CREDENTIALS",
    );
  });

  it("lets exactly one of many concurrent uses of one assertion through, round after round", async () => {
    const { auth } = await t.userWithToken();
    const device = authenticator();
    await register(auth, device);
    for (let round = 0; round < 5; round += 1) {
      const assertion = device.get(await signInOptions());
      const answers = await Promise.all(Array.from({ length: 6 }, () => signIn(assertion)));
      expect(answers.map((res) => res.statusCode).sort()).toEqual([200, 401, 401, 401, 401, 401]);
    }
  });
});

describe("the tRPC door", () => {
  it("registers, lists, renames, signs in and removes", async () => {
    const user = await t.createUser();
    const caller = await t.callerFor(user);
    const device = authenticator();
    const options = await caller.passkeys.registrationOptions();
    const passkey = await caller.passkeys.register({
      name: "Key",
      webauthn: device.create(options),
    });
    expect((await caller.passkeys.list()).passkeys.map((p) => p.id)).toEqual([passkey.id]);
    expect((await caller.passkeys.rename({ id: passkey.id, name: "Renamed" })).name).toBe(
      "Renamed",
    );

    const anonymous = await t.callerFor();
    const pair = await anonymous.passkeys.signIn({
      webauthn: device.get(await anonymous.passkeys.signInOptions()),
    });
    expect(pair.tokenType).toBe("Bearer");
    await expect(
      anonymous.passkeys.signIn({ webauthn: device.get({ challenge: "AAAA" }) }),
    ).rejects.toMatchObject({ apiCode: "INVALID_CREDENTIALS" });

    const stranger = await t.callerFor(await t.createUser());
    await expect(stranger.passkeys.remove({ id: passkey.id })).rejects.toMatchObject({
      apiCode: "NOT_FOUND",
    });
    await expect(stranger.passkeys.ofUser({ id: user.id })).rejects.toMatchObject({
      apiCode: "UNAUTHORIZED",
    });
    expect(await caller.passkeys.remove({ id: passkey.id })).toMatchObject({ success: true });
    expect((await caller.passkeys.list()).passkeys).toEqual([]);
  });
});
