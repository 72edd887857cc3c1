import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { recordUserEvent } from "../../db/events.ts";
import { findUserByEmail, insertUser, takenUserKey } from "../../db/users.ts";
import type { Config } from "../config.ts";
import { deriveUsername, hashNewPassword, type PasswordDeps } from "./accounts.ts";

/**
 * Creates the first AppAdmin from ADMIN_EMAIL / ADMIN_PASSWORD when no user has that email.
 * Idempotent: a second start, or two processes starting at once, create it once.
 */
export async function ensureFirstAdmin(
  deps: PasswordDeps & {
    db: Kysely<Database>;
    config: Pick<Config, "ADMIN_EMAIL" | "ADMIN_PASSWORD" | "PASSWORD_MIN_LENGTH">;
    log: Pick<FastifyBaseLogger, "info">;
  },
): Promise<"created" | "exists" | "skipped"> {
  const { db, config, log } = deps;
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) return "skipped";
  const email = config.ADMIN_EMAIL;
  if (await findUserByEmail(db, email)) return "exists";
  const passwordHash = await hashNewPassword(deps, config.ADMIN_PASSWORD, { email });
  try {
    await db.transaction().execute(async (tx) => {
      const admin = await insertUser(tx, {
        email,
        username: await deriveUsername(tx, email),
        first_name: "App",
        last_name: "Admin",
        role: "AppAdmin",
        status: "active",
        email_verified: true,
        password_hash: passwordHash,
      });
      await recordUserEvent(tx, "user.created", admin.id);
    });
  } catch (error) {
    // Another process created it meanwhile.
    if (takenUserKey(error) === "email") return "exists";
    throw error;
  }
  log.info({ email }, "first AppAdmin created");
  return "created";
}
