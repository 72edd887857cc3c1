import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

/**
 * A software WebAuthn authenticator (ES256, "none" attestation, discoverable credentials) that
 * makes the same JSON a browser's `PublicKeyCredential.toJSON()` does, so the server's checks run
 * against real signatures without a browser. Its sign counter can be set back to play a clone.
 */

type Credential = { id: Buffer; key: KeyObject; userHandle: string; counter: number };

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

export type SoftAuthenticator = ReturnType<typeof softAuthenticator>;

export function softAuthenticator(origin: string, rpId = new URL(origin).hostname) {
  const credentials: Credential[] = [];
  // Whether it verifies its user (a PIN, biometrics); a security key without a PIN does not.
  let verifiesUser = true;

  const authData = (counter: number, attested?: Uint8Array) => {
    const head = Buffer.alloc(37);
    sha256(rpId).copy(head, 0);
    head[32] = UP | (verifiesUser ? UV : 0) | (attested ? AT : 0);
    head.writeUInt32BE(counter, 33);
    return attested ? Buffer.concat([head, attested]) : head;
  };

  const clientData = (type: string, challenge: string) =>
    Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

  /** `navigator.credentials.create()` for the options the server gave. */
  function create(options: { challenge: string; user: { id: string } }) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, "base64url")],
        [-3, Buffer.from(jwk.y as string, "base64url")],
      ]),
    );
    const credential: Credential = {
      id: randomBytes(16),
      key: privateKey,
      userHandle: options.user.id,
      counter: 1,
    };
    credentials.push(credential);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(credential.id.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, credential.id, cose]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ["fmt", "none"],
        ["attStmt", new Map<string, string>()],
        ["authData", authData(credential.counter, attested)],
      ]),
    );
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: "public-key" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64(clientData("webauthn.create", options.challenge)),
        attestationObject: b64(attestationObject),
        transports: ["internal" as const],
      },
    };
  }

  /** `navigator.credentials.get()`: signs with the given credential (the newest by default). */
  function get(options: { challenge: string }, credentialId?: string) {
    const credential = credentialId
      ? credentials.find((c) => b64(c.id) === credentialId)
      : credentials[credentials.length - 1];
    if (!credential) throw new Error("no such credential in this authenticator");
    credential.counter += 1;
    const data = authData(credential.counter);
    const client = clientData("webauthn.get", options.challenge);
    const signature = sign("sha256", Buffer.concat([data, sha256(client)]), credential.key);
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: "public-key" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64(client),
        authenticatorData: b64(data),
        signature: b64(signature),
        userHandle: credential.userHandle,
      },
    };
  }

  /** Sets the newest credential's counter (a clone of an older state). */
  function setCounter(counter: number) {
    const credential = credentials[credentials.length - 1];
    if (credential) credential.counter = counter;
  }

  /** Turns user verification (the UV flag) on or off for later ceremonies. */
  function setUserVerification(on: boolean) {
    verifiesUser = on;
  }

  return { create, get, setCounter, setUserVerification };
}
