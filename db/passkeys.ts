import { type Kysely, type Selectable, sql } from "kysely";
import type { Database, PasskeysTable } from "./database.ts";
import { recordUserEvent } from "./events.ts";

/** What lists show of a passkey: never its key. */
const LISTED_COLUMNS = [
  "id",
  "name",
  "transports",
  "backed_up",
  "created_at",
  "last_used_at",
] as const;
export type ListedPasskeyRow = Pick<Selectable<PasskeysTable>, (typeof LISTED_COLUMNS)[number]>;

/** What checking an assertion needs: the key, its counter, and who it belongs to. */
export type StoredPasskey = {
  id: number;
  user_id: number;
  credential_id: string;
  public_key: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string;
};

const STORED_COLUMNS = [
  "id",
  "user_id",
  "credential_id",
  "public_key",
  "counter",
  "transports",
] as const;

const toStored = (row: Pick<Selectable<PasskeysTable>, (typeof STORED_COLUMNS)[number]>) => ({
  ...row,
  counter: Number(row.counter),
  public_key: new Uint8Array(row.public_key),
});

/** The constraint a second registration of one credential meets. */
export const DUPLICATE_CREDENTIAL = "passkeys_credential_id_key";

export type NewPasskey = {
  userId: number;
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string;
  userHandle: string;
  name: string;
  backedUp: boolean;
};

/**
 * Stores a passkey unless the user already holds `maxPerUser` (checked in the insert itself,
 * under a lock on the user's row, so concurrent registrations cannot pass the bound together).
 * Returns undefined when the bound is reached; throws the driver's unique violation
 * (`passkeys_credential_id_key`) when the credential is already registered. The user's
 * `user.updated` [passkeys] event is written in the same transaction.
 */
export async function insertPasskey(
  db: Kysely<Database>,
  passkey: NewPasskey,
  maxPerUser: number,
): Promise<ListedPasskeyRow | undefined> {
  return db.transaction().execute(async (tx) => {
    await tx
      .selectFrom("users")
      .select("id")
      .where("id", "=", passkey.userId)
      .forUpdate()
      .execute();
    const { held } = await tx
      .selectFrom("passkeys")
      .select(sql<number>`count(*)::int`.as("held"))
      .where("user_id", "=", passkey.userId)
      .executeTakeFirstOrThrow();
    if (held >= maxPerUser) return undefined;
    const stored = await tx
      .insertInto("passkeys")
      .values({
        user_id: passkey.userId,
        credential_id: passkey.credentialId,
        public_key: passkey.publicKey,
        counter: passkey.counter,
        transports: passkey.transports,
        user_handle: passkey.userHandle,
        name: passkey.name,
        backed_up: passkey.backedUp,
      })
      .returning(LISTED_COLUMNS)
      .executeTakeFirstOrThrow();
    await recordPasskeysChanged(tx, passkey.userId);
    return stored;
  });
}

export const listPasskeys = (db: Kysely<Database>, userId: number): Promise<ListedPasskeyRow[]> =>
  db
    .selectFrom("passkeys")
    .select(LISTED_COLUMNS)
    .where("user_id", "=", userId)
    .orderBy("id")
    .execute();

export async function countPasskeys(db: Kysely<Database>, userId: number): Promise<number> {
  const { held } = await db
    .selectFrom("passkeys")
    .select(sql<number>`count(*)::int`.as("held"))
    .where("user_id", "=", userId)
    .executeTakeFirstOrThrow();
  return held;
}

/** The user's credentials for `excludeCredentials` / `allowCredentials`. */
export const passkeyDescriptors = (db: Kysely<Database>, userId: number) =>
  db
    .selectFrom("passkeys")
    .select(["credential_id", "transports"])
    .where("user_id", "=", userId)
    .orderBy("id")
    .execute();

/** The handle the user's passkeys were made with, so a new one names the same WebAuthn user. */
export async function findUserHandle(
  db: Kysely<Database>,
  userId: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom("passkeys")
    .select("user_handle")
    .where("user_id", "=", userId)
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  return row?.user_handle;
}

export async function findPasskeyByCredentialId(
  db: Kysely<Database>,
  credentialId: string,
): Promise<(StoredPasskey & { user_handle: string }) | undefined> {
  const row = await db
    .selectFrom("passkeys")
    .select([...STORED_COLUMNS, "user_handle"])
    .where("credential_id", "=", credentialId)
    .executeTakeFirst();
  return row && { ...toStored(row), user_handle: row.user_handle };
}

/**
 * Records a use, moving the counter forward only: false when the stored counter has meanwhile
 * reached `counter` (a concurrent use of the same assertion, or a cloned authenticator). A
 * counter of 0 on both sides means the authenticator keeps none.
 */
export async function recordPasskeyUse(
  db: Kysely<Database>,
  id: number,
  previous: number,
  counter: number,
): Promise<boolean> {
  const result = await db
    .updateTable("passkeys")
    .set({ counter, last_used_at: sql`now()` })
    .where("id", "=", id)
    .where((eb) =>
      counter === 0
        ? eb("counter", "=", 0)
        : eb.and([eb("counter", "<", counter), eb("counter", "=", previous)]),
    )
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function renamePasskey(
  db: Kysely<Database>,
  userId: number,
  id: number,
  name: string,
): Promise<ListedPasskeyRow | undefined> {
  return db
    .updateTable("passkeys")
    .set({ name })
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .returning(LISTED_COLUMNS)
    .executeTakeFirst();
}

/**
 * `user.updated` with changedFields ["passkeys"] (one was registered or removed), in the
 * caller's transaction; the data is the user's public fields, never a credential or key.
 */
export const recordPasskeysChanged = (tx: Kysely<Database>, userId: number) =>
  recordUserEvent(tx, "user.updated", userId, ["passkeys"]);

export async function deletePasskey(
  db: Kysely<Database>,
  userId: number,
  id: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom("passkeys")
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Removes every passkey of a user (an admin's factor reset); returns how many there were. */
export async function deleteUserPasskeys(db: Kysely<Database>, userId: number): Promise<number> {
  const result = await db.deleteFrom("passkeys").where("user_id", "=", userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
