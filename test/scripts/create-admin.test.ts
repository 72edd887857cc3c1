// `npm run admin:create -- <email>` with the password piped on stdin (as a script would): one
// clean line out, never the password, no stray object; the AppAdmin then logs in through both
// doors. (On a terminal the prompt does not echo: scripts/read-password.ts, raw mode.)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SETTING_NAMES } from "../../server/config.ts";
import { createScriptDatabase } from "../helpers/script-database.ts";
import { cleanEnv, ROOT, runNode } from "../helpers/spawn.ts";

const PASSWORD = "saffron-glacier-metronome-58";
const EMAIL = "first-admin@example.com";
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("admin:create with the password on stdin", { timeout: 120_000 }, () => {
  it("prints one line without the password, and the admin can log in", async () => {
    const data = await createScriptDatabase();
    cleanups.push(data.close);
    const run = await data.run(["scripts/create-admin.ts", EMAIL], `${PASSWORD}\n`);
    // The prompt goes to stderr only on a terminal; stdout is the result, one line.
    expect(run).toEqual({ status: 0, stdout: `AppAdmin ${EMAIL} created\n`, stderr: "" });
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);

    const app = await data.openApp();
    const rest = await app.inject({
      method: "POST",
      url: "/api/auth/token",
      payload: { email: EMAIL, password: PASSWORD },
    });
    expect(rest.statusCode).toBe(200);
    const trpc = await app.inject({
      method: "POST",
      url: "/trpc/auth.token",
      payload: { email: EMAIL, password: PASSWORD },
    });
    expect(trpc.statusCode).toBe(200);
    const me = await app.inject({
      method: "GET",
      url: "/api/users/me",
      headers: { authorization: `Bearer ${rest.json().accessToken}` },
    });
    expect(me.json()).toMatchObject({ email: EMAIL, role: "AppAdmin" });
  });

  it("refuses an empty pipe with one line, creating nothing", async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), "users-create-admin-empty-"));
    cleanups.push(async () => rmSync(emptyDir, { recursive: true, force: true }));
    const run = await runNode(["scripts/create-admin.ts", "nobody@example.com"], {
      cwd: ROOT,
      env: { ...cleanEnv(SETTING_NAMES), NODE_ENV: "test", DATA_DIR: emptyDir },
      input: "",
    });
    expect(run).toEqual({
      status: 1,
      stdout: "",
      stderr: "no password given; nothing was created\n",
    });
  });
});
