import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../db/open.ts";

/**
 * A database of the test file's own: an in-memory PGlite, or, when DATABASE_URL is set, a new
 * database created on that PostgreSQL server and dropped on close.
 */
export async function openTestDatabase(): Promise<DatabaseHandle & { url: string | undefined }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const handle = await openDatabase({ dataDir: "memory://" });
    await migrateToLatest(handle.db);
    return { ...handle, url: undefined };
  }
  const name = `users_api_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), dataDir: "memory://" });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    url: url.toString(),
    close: async () => {
      await handle.close();
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(serverUrl: string, statement: string) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export { sql };
