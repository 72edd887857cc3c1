import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// What a consumer of the package does: `npm pack` here, `npm install` of the tarball in a project
// of its own (outside this tree, so nothing resolves from our node_modules), compile a small
// client with tsc, and run it against a listening service through both doors.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string };
const NEW_PASSWORD = "copper-meadow-41-lighthouse";

// npm hands its own settings to scripts it runs (`npm test`) as npm_* variables; the consumer's
// npm must read only its own project.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")),
);

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    skipLibCheck: true,
    outDir: "out",
    types: ["node"],
  },
  include: ["main.ts"],
};

// Sign in, read `me` through each door, change the password (which ends every access token but
// keeps this session's refresh token), then six calls at once through both doors: all refused,
// one refresh, all retried. The @ts-expect-error lines fail the build if the types went `any`.
const CONSUMER_MAIN = `
import { createRestClient, createSession, createTrpcClient, isTokenPair } from "${PACKAGE.name}/client";

const [baseUrl = "", email = "", password = "", newPassword = ""] = process.argv.slice(2);
const session = createSession({ baseUrl });
const trpc = createTrpcClient(session);
const rest = createRestClient(session);

const signedIn = await trpc.auth.token.mutate({ email, password });
// A user with a second factor would get a challenge: the types make the caller tell them apart.
if (!isTokenPair(signedIn)) throw new Error("expected the token pair");
session.use(signedIn);
const viaTrpc = await trpc.users.me.query();
const viaRest = await rest.GET("/users/me");
// @ts-expect-error an error answer has no data, and the types say so
viaRest.data.email;
// @ts-expect-error no such procedure
trpc.users.nothing;

const changed = await rest.PUT("/users/password", {
  body: { currentPassword: password, newPassword },
});
const before = session.tokens?.refreshToken;
const burst = await Promise.all([
  trpc.users.me.query().then((user) => user.id),
  trpc.users.me.query().then((user) => user.id),
  trpc.users.list.query({ $top: 1 }).then((page) => page.count),
  rest.GET("/users/me").then(({ data }) => data?.id),
  rest.GET("/users/me").then(({ data }) => data?.id),
  rest.GET("/users", { params: { query: { $top: 1 } } }).then(({ data }) => data?.count),
]);
const after = await rest.GET("/users/me");
console.log(JSON.stringify({
  me: [viaTrpc.id, viaRest.data?.id],
  changed: changed.response.status,
  burst,
  refreshed: session.tokens !== undefined && session.tokens.refreshToken !== before,
  after: after.data?.id,
}));
`;

let t: TestApp;
let baseUrl = "";
let work = "";
let consumer = "";

beforeAll(async () => {
  // Refreshing twice with one token then revokes the session at once (no grace for races).
  t = await createTestApp({ REFRESH_REUSE_GRACE_SECONDS: "0" });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  work = mkdtempSync(join(tmpdir(), "users-api-package-"));
  const packed = join(work, "packed");
  mkdirSync(packed);
  // prepack builds dist/client first.
  await run("npm", ["pack", "--pack-destination", packed], { cwd: ROOT, env });
  const [tarball] = readdirSync(packed);
  if (tarball === undefined) throw new Error("npm pack wrote no tarball");

  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG));
  writeFileSync(join(consumer, "main.ts"), CONSUMER_MAIN);
  const nodeTypes = JSON.parse(
    readFileSync(join(ROOT, "node_modules", "@types", "node", "package.json"), "utf8"),
  ) as { version: string };
  // The tarball's dependencies come from the registry (or npm's cache), as for any consumer;
  // their install scripts serve the service (native modules), not the client.
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--ignore-scripts",
      join(packed, tarball),
      `@types/node@${nodeTypes.version}`,
    ],
    { cwd: consumer, env },
  );
}, 300_000);

afterAll(async () => {
  await t?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe(`the package's client entry (${PACKAGE.name}/client)`, () => {
  it("ships the built entry and its declarations, not the service", async () => {
    const installed = join(consumer, "node_modules", ...PACKAGE.name.split("/"));
    expect(readdirSync(installed).sort()).toEqual(["README.md", "dist", "package.json"]);
    expect(readdirSync(join(installed, "dist"))).toEqual(["client"]);
  });

  it("compiles a consumer's typed client with tsc", async () => {
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    await expect(run(tsc, ["-p", consumer], { cwd: consumer, env })).resolves.toBeDefined();
  }, 120_000);

  it("calls both doors; calls refused together share one refresh and the session lives on", async () => {
    const user = await t.createUser();
    const { stdout } = await run(
      process.execPath,
      [join(consumer, "out", "main.js"), baseUrl, user.email, PASSWORD, NEW_PASSWORD],
      { cwd: consumer, env },
    );
    const result = JSON.parse(stdout);
    expect(result).toEqual({
      me: [user.id, user.id],
      changed: 200,
      burst: [user.id, user.id, expect.any(Number), user.id, user.id, expect.any(Number)],
      refreshed: true,
      after: user.id,
    });

    // One session, rotated exactly once: the login's token spent, its one successor live.
    const sessions = await t.db
      .selectFrom("sessions")
      .select(["id", "revoked_at"])
      .where("user_id", "=", user.id)
      .execute();
    expect(sessions).toEqual([{ id: expect.any(Number), revoked_at: null }]);
    const tokens = await t.db
      .selectFrom("refresh_tokens")
      .select("spent_at")
      .where("session_id", "=", sessions[0]?.id ?? 0)
      .orderBy("created_at")
      .execute();
    expect(tokens.map(({ spent_at }) => spent_at !== null)).toEqual([true, false]);
  }, 120_000);

  it("a second refresh with the spent token ends the session (why refreshes are shared)", async () => {
    const { refreshToken } = await t.userWithToken();
    const refresh = () =>
      t.app.inject({ method: "POST", url: "/api/auth/refresh", payload: { refreshToken } });
    const first = await refresh();
    expect(first.statusCode).toBe(200);
    expect((await refresh()).statusCode).toBe(401);
    const successor = await t.app.inject({
      method: "POST",
      url: "/api/auth/refresh",
      payload: { refreshToken: first.json().refreshToken },
    });
    expect(successor.statusCode).toBe(401);
  });
});
