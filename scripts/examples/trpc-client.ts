// A TypeScript frontend's view of the API: native tRPC calls, fully typed from the exported
// `AppRouter` type (no code generation), through the package's client entry
// (`@users-api/users-api/client`, here by its path). Run against a server:
//   API_URL=http://localhost:3000 npx tsx scripts/examples/trpc-client.ts
// Exits non-zero when a call fails.
import { randomBytes } from "node:crypto";
import { TRPCClientError } from "@trpc/client";
import { createSession, createTrpcClient, isTokenPair } from "../../routers/client/index.ts";

// The session holds the tokens (none yet) and refreshes them when the service refuses one.
const session = createSession({ baseUrl: process.env.API_URL ?? "http://localhost:3000" });
const api = createTrpcClient(session);

async function main() {
  const email = `trpc-example-${randomBytes(4).toString("hex")}@example.com`;
  const password = "tangerine-observatory-61-kettle";

  // users.signup: input and output are typed; a typo in a field name is a compile error.
  const created = await api.users.signup.mutate({
    email,
    password,
    firstName: "Trpc",
    lastName: "Example",
  });
  console.log(`signed up ${created.email} as user ${created.id} (status ${created.status})`);

  // auth.token: log in; from now on every call carries the session's access token.
  // (A user with a second factor gets a challenge instead, for auth.secondFactor: not this one.)
  const tokens = await api.auth.token.mutate({ email, password });
  if (!isTokenPair(tokens)) throw new Error("this new user has no second factor");
  session.use(tokens);
  console.log(`logged in; the access token lasts ${tokens.expiresIn} s`);

  // Two queries in one HTTP request: httpBatchStreamLink batches calls made in the same tick.
  const [me, page] = await Promise.all([
    api.users.me.query(),
    api.users.list.query({ $orderby: "id desc", $top: 5 }),
  ]);
  console.log(`me: ${me.username} <${me.email}>, role ${me.role}`);
  console.log(`list: ${page.count} visible, first page: ${page.value.map((u) => u.id).join(", ")}`);
  if (me.id !== created.id) throw new Error("users.me answered with another user");

  // Errors carry the API's error code (API.md) in error.data.code. Without a session, nothing to
  // refresh:
  session.use(undefined);
  const refused = await api.users.me.query().catch((error: unknown) => error);
  if (!(refused instanceof TRPCClientError) || refused.data?.code !== "UNAUTHENTICATED") {
    throw new Error("an anonymous users.me should be refused with UNAUTHENTICATED");
  }
  console.log(`without a token: ${refused.data.code} (${refused.data.httpStatus})`);
}

try {
  await main();
  console.log("trpc-client example: ok");
} catch (error) {
  const code = error instanceof TRPCClientError ? ` [${error.data?.code ?? "?"}]` : "";
  console.error(`trpc-client example failed${code}: ${(error as Error).message}`);
  process.exitCode = 1;
}
