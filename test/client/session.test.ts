import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createRestClient,
  createSession,
  createTrpcClient,
  type TokenPair,
} from "../../routers/client/index.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

// The client entry's sources against a listening service: when a session refreshes, and when it
// does not. test/scripts/package-client.test.ts runs the same through the packed package.

let t: TestApp;
let baseUrl = "";
beforeAll(async () => {
  t = await createTestApp({ REFRESH_REUSE_GRACE_SECONDS: "0" });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(() => t.close());

/**
 * A signed-in session whose requests are recorded (method and path) and whose pairs are kept;
 * its refresh requests wait for `hold` when given.
 */
async function signedIn(hold?: Promise<void>) {
  const user = await t.createUser();
  const sent: string[] = [];
  const told: (TokenPair | undefined)[] = [];
  const session = createSession({
    baseUrl,
    tokens: await t.login(user),
    onTokens: (tokens) => told.push(tokens),
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const line = `${request.method} ${new URL(request.url).pathname}`;
      sent.push(line);
      if (line === "POST /api/auth/refresh") await hold;
      return fetch(request);
    },
  });
  const refreshes = () => sent.filter((line) => line === "POST /api/auth/refresh").length;
  return {
    user,
    session,
    sent,
    told,
    refreshes,
    trpc: createTrpcClient(session),
    rest: createRestClient(session),
  };
}

const trpcCode = (error: unknown) => (error instanceof TRPCClientError ? error.data?.code : error);

describe("a session shared by the tRPC and REST clients", () => {
  it("refreshes once for ten calls refused together through both doors, then all succeed", async () => {
    const { user, session, trpc, rest, told, refreshes } = await signedIn();
    const before = session.tokens;
    // Ends every access token of the account; this session's refresh token lives on.
    const changed = await rest.PUT("/users/password", {
      body: { currentPassword: PASSWORD, newPassword: "copper-meadow-41-lighthouse" },
    });
    expect(changed.response.status).toBe(200);

    const ids = await Promise.all([
      ...Array.from({ length: 5 }, () => trpc.users.me.query().then((me) => me.id)),
      ...Array.from({ length: 4 }, () => rest.GET("/users/me").then(({ data }) => data?.id)),
      // A body is sent again on the retry.
      rest
        .PATCH("/users/me", { body: { firstName: "Renewed" } })
        .then(({ data }) => data?.firstName === "Renewed" && data.id),
    ]);
    expect(ids).toEqual(Array(10).fill(user.id));
    expect(refreshes()).toBe(1);
    expect(told).toHaveLength(1);
    expect(session.tokens?.refreshToken).not.toBe(before?.refreshToken);
  });

  it("ends when the refresh is refused: the calls answer 401 and the store is told", async () => {
    const { session, trpc, rest, told, refreshes } = await signedIn();
    await expect(rest.POST("/auth/logout-all")).resolves.toMatchObject({ response: { ok: true } });

    const [viaTrpc, viaRest] = await Promise.all([
      trpc.users.me.query().catch(trpcCode),
      rest.GET("/users/me"),
    ]);
    expect(viaTrpc).toBe("UNAUTHENTICATED");
    expect(viaRest.response.status).toBe(401);
    expect(refreshes()).toBe(1);
    expect(session.tokens).toBeUndefined();
    expect(told).toEqual([undefined]);
  });

  it("does not refresh for a 401 that is not about the token, nor without one", async () => {
    const { user, session, rest, trpc, refreshes } = await signedIn();
    const wrong = await rest.POST("/auth/token", {
      body: { email: user.email, password: "not-the-password-at-all-99" },
    });
    expect(wrong.error?.code).toBe("INVALID_CREDENTIALS");

    session.use(undefined);
    await expect(trpc.users.me.query().catch(trpcCode)).resolves.toBe("UNAUTHENTICATED");
    expect((await rest.GET("/users/me")).response.status).toBe(401);
    expect(refreshes()).toBe(0);
  });

  // The HTTP links skip an operation whose signal has fired, so the retry sends nothing.
  it("does not resend a call aborted while it waits for the refresh", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { session, trpc, sent, refreshes } = await signedIn(held);
    const pair = session.tokens as TokenPair;
    session.use({ ...pair, accessToken: "an-access-token-the-service-refuses" });

    const controller = new AbortController();
    const call = trpc.users.me.query(undefined, { signal: controller.signal }).catch((e) => e);
    await vi.waitFor(() => expect(refreshes()).toBe(1));
    controller.abort();
    release();
    expect(await call).toBeInstanceOf(TRPCClientError);
    await vi.waitFor(() => expect(session.tokens?.refreshToken).not.toBe(pair.refreshToken));
    expect(sent.filter((line) => line === "GET /trpc/users.me")).toHaveLength(1);
  });

  it("retries a call refused for a token already replaced, without another refresh", async () => {
    const { session, refreshes } = await signedIn();
    const current = session.tokens?.accessToken;
    await expect(session.renew("an-access-token-replaced-earlier")).resolves.toBe(current);
    expect(refreshes()).toBe(0);
  });
});

describe("a session with its own way to refresh (the admin console's cookie)", () => {
  it("calls it once for calls refused together, and ends when it answers undefined", async () => {
    const user = await t.createUser();
    let spentSeen: TokenPair | undefined;
    let calls = 0;
    let answer: "renew" | "end" = "renew";
    const session = createSession({
      baseUrl,
      tokens: await t.login(user),
      refresh: async (spent) => {
        calls += 1;
        spentSeen = spent;
        if (answer === "end") return undefined;
        const now = await t.db
          .selectFrom("users")
          .selectAll()
          .where("id", "=", user.id)
          .executeTakeFirstOrThrow();
        return t.login(now);
      },
    });
    const trpc = createTrpcClient(session);
    const first = session.tokens;
    // Every access token of the account stops working; only the refresh gives a new one.
    await t.db.updateTable("users").set({ token_version: 99 }).where("id", "=", user.id).execute();
    const ids = await Promise.all(Array.from({ length: 6 }, () => trpc.users.me.query()));
    expect(ids.map((me) => me.id)).toEqual(Array(6).fill(user.id));
    expect(calls).toBe(1);
    expect(spentSeen).toBe(first);

    answer = "end";
    await t.db.updateTable("users").set({ token_version: 100 }).where("id", "=", user.id).execute();
    const refused = await trpc.users.me.query().catch(trpcCode);
    expect(refused).toBe("UNAUTHENTICATED");
    expect(calls).toBe(2);
    expect(session.tokens).toBeUndefined();
  });
});
