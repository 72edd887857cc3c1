import { z } from "zod";

/**
 * The JSON of a WebAuthn credential as browsers give it (`PublicKeyCredential.toJSON()`, or
 * @simplewebauthn/browser), bounded field by field: a credential id is at most 1023 bytes, and
 * nothing an authenticator sends with "none" attestation comes near 16 KiB.
 */
const b64url = (maxChars: number) =>
  z
    .string()
    .min(1)
    .max(maxChars)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, "Must be base64url");

const ZCredentialId = b64url(1366);
const TRANSPORTS = ["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"] as const;
export const ZTransport = z.enum(TRANSPORTS);

const ZExtensionResults = z
  .record(z.string().max(64), z.unknown())
  .refine((results) => Object.keys(results).length <= 16, "At most 16 extension results")
  .default({});

const credential = <T extends z.ZodRawShape>(response: T) =>
  z.strictObject({
    id: ZCredentialId,
    rawId: ZCredentialId,
    type: z.literal("public-key"),
    authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
    clientExtensionResults: ZExtensionResults,
    response: z.looseObject(response),
  });

export const ZRegistrationResponse = credential({
  clientDataJSON: b64url(4096),
  attestationObject: b64url(16384),
  authenticatorData: b64url(16384).optional(),
  transports: z.array(ZTransport).max(TRANSPORTS.length).optional(),
  publicKeyAlgorithm: z.number().int().optional(),
  publicKey: b64url(4096).optional(),
}).meta({
  id: "PasskeyRegistrationResponse",
  description: "What `navigator.credentials.create()` gave, as `PublicKeyCredential.toJSON()`",
});

export const ZAuthenticationResponse = credential({
  clientDataJSON: b64url(4096),
  authenticatorData: b64url(4096),
  signature: b64url(1024),
  userHandle: b64url(128).optional(),
}).meta({
  id: "PasskeyAssertion",
  description: "What `navigator.credentials.get()` gave, as `PublicKeyCredential.toJSON()`",
});

export type TRegistrationResponse = z.infer<typeof ZRegistrationResponse>;
export type TAuthenticationResponse = z.infer<typeof ZAuthenticationResponse>;
