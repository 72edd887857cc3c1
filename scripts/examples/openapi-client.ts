// A third party's view of the API: plain REST with `openapi-fetch`, typed by the types that
// `openapi-typescript` generates from openapi.json (`npm run openapi:types` refreshes them),
// through the package's client entry (`@users-api/users-api/client`, here by its path).
// Run against a server:
//   API_URL=http://localhost:3000 npx tsx scripts/examples/openapi-client.ts
// Exits non-zero when a call fails.
import { randomBytes } from "node:crypto";
import {
  type components,
  createRestClient,
  createSession,
  isTokenPair,
} from "../../routers/client/index.ts";

type ApiError = components["schemas"]["Error"];

// The session holds the tokens (none yet) and refreshes them when the service refuses one; the
// client's paths are the document's, relative to its server `<base>/api`.
const session = createSession({ baseUrl: process.env.API_URL ?? "http://localhost:3000" });
const api = createRestClient(session);

/** The data of a successful call, or an Error naming the API's error code. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data !== undefined) return result.data;
  const error = result.error as Partial<ApiError> | undefined;
  throw new Error(
    `${what}: HTTP ${result.response.status} ${error?.code ?? ""} ${error?.message ?? ""}`.trim(),
  );
}

async function main() {
  const email = `openapi-example-${randomBytes(4).toString("hex")}@example.com`;
  const password = "marigold-telescope-58-pebble";

  const created = ok(
    await api.POST("/users/signup", {
      body: { email, password, firstName: "Openapi", lastName: "Example" },
    }),
    "POST /users/signup",
  );
  console.log(`signed up ${created.email} as user ${created.id} (status ${created.status})`);

  const tokens = ok(
    await api.POST("/auth/token", { body: { email, password } }),
    "POST /auth/token",
  );
  // (A user with a second factor gets a challenge instead, for POST /auth/token/second-factor.)
  if (!isTokenPair(tokens)) throw new Error("this new user has no second factor");
  session.use(tokens);
  console.log(`logged in; ${tokens.tokenType} token for ${tokens.expiresIn} s`);

  const me = ok(await api.GET("/users/me"), "GET /users/me");
  console.log(`me: ${me.username} <${me.email}>, role ${me.role}`);
  if (me.id !== created.id) throw new Error("GET /users/me answered with another user");

  const page = ok(
    await api.GET("/users", { params: { query: { $orderby: "id desc", $top: 5 } } }),
    "GET /users",
  );
  console.log(`list: ${page.count} visible, first page: ${page.value.map((u) => u.id).join(", ")}`);

  // An error answer is typed too: the API's {code, message} (API.md). Without a session, no token:
  session.use(undefined);
  const refused = await api.GET("/users/me");
  if (refused.response.status !== 401 || refused.error?.code !== "UNAUTHENTICATED") {
    throw new Error("an anonymous GET /users/me should be a 401 UNAUTHENTICATED");
  }
  console.log(`without a token: ${refused.error.code} (${refused.response.status})`);
}

try {
  await main();
  console.log("openapi-client example: ok");
} catch (error) {
  console.error(`openapi-client example failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
