import type { Kysely } from "kysely";
import type { Database } from "../../../db/database.ts";
import { recordUserEvent } from "../../../db/events.ts";

/**
 * `user.updated` with changedFields ["secondFactors"], in the caller's transaction: the user's
 * effective second factors changed (TOTP confirmed or removed, recovery codes replaced, an
 * admin's reset). The data is the user's public fields: never a secret, code or hash.
 */
export const recordSecondFactorsChanged = (tx: Kysely<Database>, userId: number) =>
  recordUserEvent(tx, "user.updated", userId, ["secondFactors"]);
