import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import {
  type ChallengeBinding,
  storeChallenge,
  takeChallenge,
} from "../../../db/webauthn-challenges.ts";
import { CHALLENGE_TTL_SECONDS } from "./relying-party.ts";

const hashOf = (challenge: string) => createHash("sha256").update(challenge).digest("hex");

/** A fresh 256-bit challenge (base64url), stored (as its hash) bound to the ceremony. */
export async function issueChallenge(
  db: Kysely<Database>,
  binding: ChallengeBinding & { userHandle?: string },
): Promise<string> {
  const challenge = randomBytes(32).toString("base64url");
  await storeChallenge(db, {
    ...binding,
    hash: hashOf(challenge),
    ttlSeconds: CHALLENGE_TTL_SECONDS,
  });
  return challenge;
}

/**
 * The challenge the browser signed (from clientDataJSON), taken once: undefined when it is not
 * one this service issued for this ceremony, or is used or expired. The library then checks the
 * response against exactly this challenge.
 */
export async function takeSignedChallenge(
  db: Kysely<Database>,
  clientDataJSON: string,
  binding: ChallengeBinding,
): Promise<{ challenge: string; userHandle: string | null } | undefined> {
  const challenge = signedChallenge(clientDataJSON);
  if (!challenge) return undefined;
  const taken = await takeChallenge(db, hashOf(challenge), binding);
  return taken && { challenge, userHandle: taken.userHandle };
}

function signedChallenge(clientDataJSON: string): string | undefined {
  try {
    const data: unknown = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8"));
    const challenge = (data as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === "string" && challenge.length <= 128 ? challenge : undefined;
  } catch {
    return undefined;
  }
}
