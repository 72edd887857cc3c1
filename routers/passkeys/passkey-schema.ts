import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { z } from "zod";
import type { ListedPasskeyRow } from "../../db/passkeys.ts";
import { ZTransport } from "../../server/auth/passkeys/index.ts";
import { ZText } from "../shared-schema.ts";

export const ZPasskeyName = ZText(64).meta({ example: "Work laptop" });

export const ZPasskey = z
  .object({
    id: z.number().int(),
    name: z.string(),
    transports: z.array(z.string()),
    backedUp: z.boolean().meta({ description: "Synced by a passkey provider (multi-device)" }),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: "Passkey", description: "A registered passkey; never its key" });

export const ZPasskeyList = z.object({ passkeys: z.array(ZPasskey) });

export const toPasskey = (row: ListedPasskeyRow): z.infer<typeof ZPasskey> => ({
  id: row.id,
  name: row.name,
  transports: row.transports ? row.transports.split(",") : [],
  backedUp: row.backed_up,
  createdAt: row.created_at.toISOString(),
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
});

const ZCredentialDescriptor = z.looseObject({
  id: z.string(),
  type: z.string(),
  transports: z.array(ZTransport).optional(),
});

/** `PublicKeyCredentialCreationOptionsJSON`: hand it to `PublicKeyCredential.parseCreationOptionsFromJSON`. */
export const ZCreationOptions = z
  .looseObject({
    challenge: z.string(),
    rp: z.looseObject({ id: z.string().optional(), name: z.string() }),
    user: z.looseObject({ id: z.string(), name: z.string(), displayName: z.string() }),
    pubKeyCredParams: z.array(z.looseObject({ alg: z.number(), type: z.string() })),
    timeout: z.number().optional(),
    excludeCredentials: z.array(ZCredentialDescriptor).optional(),
    authenticatorSelection: z.looseObject({}).optional(),
    attestation: z.string().optional(),
  })
  .meta({ id: "PasskeyCreationOptions" });

/** `PublicKeyCredentialRequestOptionsJSON`: hand it to `PublicKeyCredential.parseRequestOptionsFromJSON`. */
export const ZRequestOptions = z
  .looseObject({
    challenge: z.string(),
    rpId: z.string().optional(),
    timeout: z.number().optional(),
    allowCredentials: z.array(ZCredentialDescriptor).optional(),
    userVerification: z.string().optional(),
  })
  .meta({ id: "PasskeyRequestOptions" });

// The library's option types are interfaces (no index signature); the output schemas check the
// shape at run time, so these only tell TypeScript what they will find.
export const creationOptions = (options: PublicKeyCredentialCreationOptionsJSON) =>
  options as unknown as z.infer<typeof ZCreationOptions>;
export const requestOptions = (options: PublicKeyCredentialRequestOptionsJSON) =>
  options as unknown as z.infer<typeof ZRequestOptions>;
