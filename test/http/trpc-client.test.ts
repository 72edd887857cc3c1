import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../../routers/router.ts";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/trpc`;
});
afterAll(() => t.close());

const clients = (token?: string) => {
  const headers = () => (token ? { authorization: `Bearer ${token}` } : {});
  return {
    httpLink: createTRPCClient<AppRouter>({ links: [httpLink({ url, headers })] }),
    httpBatchLink: createTRPCClient<AppRouter>({ links: [httpBatchLink({ url, headers })] }),
  };
};

describe.each(["httpLink", "httpBatchLink"] as const)("@trpc/client with %s", (link) => {
  it("runs queries and mutations with the caller's token", async () => {
    const email = `client-${link}@example.com`;
    const anonymous = clients()[link];
    const created = await anonymous.users.signup.mutate({
      email,
      password: PASSWORD,
      firstName: "C",
      lastName: "L",
    });
    expect(created.status).toBe("pending");
    const pair = await anonymous.auth.token.mutate({ email, password: PASSWORD });
    if (!("accessToken" in pair)) throw new Error("expected a token pair");
    const api = clients(pair.accessToken)[link];
    const [me, page] = await Promise.all([api.users.me.query(), api.users.list.query({ $top: 5 })]);
    expect(me.email).toBe(email);
    expect(page.value.length).toBeGreaterThan(0);
    await expect(api.auth.logoutAll.mutate()).resolves.toEqual({ success: true });
  });

  it("gives the API's code in error.data.code", async () => {
    const api = clients()[link];
    const error = await api.users.me.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data).toMatchObject({
      code: "UNAUTHENTICATED",
      httpStatus: 401,
    });
    const invalid = await api.users.signup
      .mutate({ email: "not-an-email", password: "x", firstName: "", lastName: "" })
      .catch((e: unknown) => e);
    expect((invalid as TRPCClientError<AppRouter>).data).toMatchObject({
      code: "VALIDATION_ERROR",
      httpStatus: 400,
    });
  });
});

describe("the native wire format", () => {
  it("answers a mixed batch with 207 and one entry per call", async () => {
    const { auth } = await t.userWithToken();
    const input = encodeURIComponent(JSON.stringify({ 1: { id: "999999" } }));
    const res = await t.app.inject({
      method: "GET",
      url: `/trpc/users.me,users.get?batch=1&input=${input}`,
      headers: auth,
    });
    expect(res.statusCode).toBe(207);
    const [me, missing] = res.json();
    expect(me.result.data.id).toBeTypeOf("number");
    expect(missing.error.data.code).toBe("USER_NOT_FOUND");
  });

  it("refuses a mutation by GET, an unknown procedure and malformed input", async () => {
    const wrongMethod = await t.app.inject({ method: "GET", url: "/trpc/users.signup" });
    expect(wrongMethod.statusCode).toBe(405);
    const unknown = await t.app.inject({ method: "GET", url: "/trpc/users.nothing" });
    expect(unknown.statusCode).toBe(404);
    const malformed = await t.app.inject({ method: "GET", url: "/trpc/users.me?input=%7Bnot" });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.data.code).toBe("VALIDATION_ERROR");
  });
});
