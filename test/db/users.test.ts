// db/users.ts on its own: the password hash leaves db/ only through findCredentials, and a write
// that collides with another account's email or username fails with the driver's error, named by
// takenUserKey (server/accounts/taken.ts turns it into the contract's 409).

import type { Kysely } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database, NewUser } from "../../db/database.ts";
import type { DatabaseHandle } from "../../db/open.ts";
import {
  findCredentials,
  findUserByEmail,
  findUserById,
  findUserByUsername,
  insertUser,
  insertUserWithTokenMail,
  restoreUser,
  softDeleteUser,
  takenUserKey,
  updateUser,
} from "../../db/users.ts";
import { openTestDatabase } from "../helpers/test-database.ts";

let handle: DatabaseHandle;
let db: Kysely<Database>;

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
});

afterAll(async () => {
  await handle.close();
});

beforeEach(async () => {
  await db.deleteFrom("users").execute();
});

const HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

const newUser = (name: string): NewUser => ({
  email: `${name}@example.com`,
  username: name,
  first_name: "Ada",
  last_name: "Lovelace",
  status: "active",
  password_hash: HASH,
});

/** The error a promise rejects with (the test fails if it resolves). */
async function rejection(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => expect.unreachable("expected the write to fail"),
    (error: unknown) => error,
  );
}

describe("password_hash", () => {
  it("is in no row but findCredentials'", async () => {
    const user = await insertUser(db, newUser("ada"));
    const rows = [
      user,
      await updateUser(db, user.id, { first_name: "Augusta" }),
      await findUserById(db, user.id),
      await findUserByEmail(db, "ADA@example.com"),
      await findUserByUsername(db, "Ada"),
    ];
    for (const row of rows) {
      expect(row).toBeDefined();
      expect(row).not.toHaveProperty("password_hash");
    }
    await softDeleteUser(db, user.id);
    expect(await restoreUser(db, user.id)).not.toHaveProperty("password_hash");
  });

  it("comes with findCredentials, by id whatever the state and by email among live users", async () => {
    const user = await insertUser(db, newUser("ada"));
    expect(await findCredentials(db, { email: "Ada@Example.com" })).toMatchObject({
      id: user.id,
      password_hash: HASH,
    });
    await softDeleteUser(db, user.id);
    expect(await findCredentials(db, { email: "ada@example.com" })).toBeUndefined();
    expect(await findCredentials(db, { id: user.id })).toMatchObject({
      id: user.id,
      password_hash: HASH,
      deleted_at: expect.any(Date),
    });
  });
});

describe("takenUserKey", () => {
  it("names the email or username another account holds", async () => {
    const ada = await insertUser(db, newUser("ada"));
    const bob = await insertUser(db, newUser("bob"));
    const emailClash = await rejection(insertUser(db, { ...newUser("carol"), email: ada.email }));
    expect(takenUserKey(emailClash)).toBe("email");
    const nameClash = await rejection(updateUser(db, bob.id, { username: "ADA" }));
    expect(takenUserKey(nameClash)).toBe("username");
  });

  it("names the key a restore collides with", async () => {
    const ada = await insertUser(db, newUser("ada"));
    await softDeleteUser(db, ada.id);
    await insertUser(db, { ...newUser("newada"), email: ada.email });
    expect(takenUserKey(await rejection(restoreUser(db, ada.id)))).toBe("email");
  });

  it("is undefined for any other failure", async () => {
    const error = await rejection(
      insertUser(db, { ...newUser("ada"), status: "nonsense" as NewUser["status"] }),
    );
    expect(error).toBeInstanceOf(Error);
    expect(takenUserKey(error)).toBeUndefined();
    expect(takenUserKey(new Error("boom"))).toBeUndefined();
  });
});

describe("insertUserWithTokenMail", () => {
  const first = (tokenHash: string) => ({
    kind: "verification" as const,
    tokenHash,
    ttlSeconds: 3600,
    mail: { kind: "verification", payload: { link: "https://app.test/verify?token=t", n: 1 } },
    domain: "mail.test",
  });
  const rowsOf = async (userId: number) => ({
    tokens: await db
      .selectFrom("email_tokens")
      .select(["kind", "token_hash", "new_email", "used_at"])
      .select((eb) => eb("expires_at", ">", new Date(Date.now() + 3500_000)).as("lives_an_hour"))
      .where("user_id", "=", userId)
      .execute(),
    mails: await db
      .selectFrom("mail_outbox")
      .select(["kind", "recipient", "payload", "message_id", "status"])
      .where("user_id", "=", userId)
      .execute(),
  });

  it("stores the user, its token and its mail in one statement, without the password hash", async () => {
    const user = await insertUserWithTokenMail(db, newUser("ada"), first("hash-ada"));
    expect(user).toMatchObject({ email: "ada@example.com", username: "ada" });
    expect(user).not.toHaveProperty("password_hash");
    expect(user).not.toHaveProperty("notified");
    expect(await findUserById(db, user.id)).toEqual(user);
    const { tokens, mails } = await rowsOf(user.id);
    expect(tokens).toEqual([
      {
        kind: "verification",
        token_hash: "hash-ada",
        new_email: null,
        used_at: null,
        lives_an_hour: true,
      },
    ]);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({
      kind: "verification",
      recipient: "ada@example.com",
      payload: { link: "https://app.test/verify?token=t", n: 1 },
      status: "queued",
    });
    expect(mails[0]?.message_id).toMatch(/^<[0-9a-f-]{36}@mail\.test>$/);
  });

  it("stores nothing when the user cannot be stored (a taken email)", async () => {
    await insertUser(db, newUser("ada"));
    const mailsBefore = await db.selectFrom("mail_outbox").select("id").execute();
    const error = await rejection(
      insertUserWithTokenMail(db, { ...newUser("ada2"), email: "ADA@example.com" }, first("h2")),
    );
    expect(takenUserKey(error)).toBe("email");
    expect(
      await db.selectFrom("email_tokens").select("id").where("token_hash", "=", "h2").execute(),
    ).toEqual([]);
    expect(await db.selectFrom("mail_outbox").select("id").execute()).toEqual(mailsBefore);
  });

  it("stores no user when its token cannot be stored (a token hash in use)", async () => {
    await insertUserWithTokenMail(db, newUser("ada"), first("same-hash"));
    await rejection(insertUserWithTokenMail(db, newUser("bob"), first("same-hash")));
    expect(await findUserByUsername(db, "bob")).toBeUndefined();
  });
});
