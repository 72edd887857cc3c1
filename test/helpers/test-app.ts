import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Database, Role, UserStatus } from "../../db/database.ts";
import type { UserRow } from "../../db/users.ts";
import { insertUser } from "../../db/users.ts";
import { createCaller } from "../../routers/router.ts";
import { buildApp } from "../../server/app.ts";
import { startSession, type TokenPair } from "../../server/auth/sessions.ts";
import { type Config, loadConfig } from "../../server/config.ts";
import { createContext } from "../../server/context.ts";
import { buildDeps } from "../../server/deps.ts";
import { openTestDatabase } from "./test-database.ts";

/** A password that passes the policy, shared by the factories (hashed once per file). */
export const PASSWORD = "violet-harbor-quantum-7-lantern";

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** The whole service on a database of this test file's own. */
export async function createTestApp(
  env: Record<string, string> | ((databaseUrl: string | undefined) => Record<string, string>) = {},
) {
  const database = await openTestDatabase();
  const config: Config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: "memory://",
    RATE_LIMIT: "off",
    LOG_LEVEL: "silent",
    // Test files share two busy cores; load shedding is tested where it is meant to happen.
    MAX_EVENT_LOOP_DELAY_MS: "0",
    // On PostgreSQL the service keeps callers' auth state in memory, kept exact by LISTEN.
    ...(database.url && { DATABASE_URL: database.url }),
    ...(typeof env === "function" ? env(database.url) : env),
  });
  // The app owns the database from here: closing it drops the test database too.
  const deps = await buildDeps(config, { database });
  const app: FastifyInstance = await buildApp(deps);
  const db: Kysely<Database> = database.db;
  let passwordHash: string | undefined;
  let counter = 0;

  /** Stores a user directly (active, verified, with PASSWORD unless told otherwise). */
  async function createUser(
    overrides: {
      role?: Role;
      status?: UserStatus;
      email?: string;
      username?: string;
      emailVerified?: boolean;
    } = {},
  ): Promise<UserRow> {
    passwordHash ??= await deps.hashing.hash(PASSWORD);
    counter += 1;
    const tag = `${Date.now().toString(36)}${counter}`;
    return insertUser(db, {
      email: overrides.email ?? `user-${tag}@example.com`,
      username: overrides.username ?? `user-${tag}`,
      first_name: "Test",
      last_name: `User ${counter}`,
      role: overrides.role ?? "User",
      status: overrides.status ?? "active",
      email_verified: overrides.emailVerified ?? true,
      password_hash: passwordHash,
    });
  }

  /**
   * Gives the user a hash of PASSWORD of its own (the factories share one), so verifications
   * against this account can be told apart (test/helpers/verify-counter.ts). Returns the hash.
   */
  async function giveOwnHash(user: UserRow): Promise<string> {
    const hash = await deps.hashing.hash(PASSWORD);
    await db.updateTable("users").set({ password_hash: hash }).where("id", "=", user.id).execute();
    return hash;
  }

  /** Starts a session for the user and returns its tokens. */
  const login = (user: UserRow): Promise<TokenPair> => startSession(createContext(deps), user);

  /** A tRPC caller acting as the user (or anonymous). */
  async function callerFor(user?: UserRow) {
    const authorization = user ? `Bearer ${(await login(user)).accessToken}` : undefined;
    return createCaller(createContext(deps, { authorization }));
  }

  /** A user with a fresh access token, for HTTP tests. */
  async function userWithToken(overrides: Parameters<typeof createUser>[0] = {}) {
    const user = await createUser(overrides);
    const tokens = await login(user);
    return { user, ...tokens, auth: { authorization: `Bearer ${tokens.accessToken}` } };
  }

  return {
    app,
    db,
    deps,
    config,
    createUser,
    giveOwnHash,
    login,
    callerFor,
    userWithToken,
    close: async (): Promise<void> => {
      await app.close();
    },
  };
}
