import Fastify from "fastify";
import { forEachOpenApiProcedure } from "trpc-to-openapi";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { appRouter } from "../../routers/router.ts";
import type { Deps } from "../../server/context.ts";
import { registerRestRoutes } from "../../server/http/rest.ts";
import { proceduresOf } from "../../server/http/trpc-wire.ts";
import type { Meta } from "../../server/trpc.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

type Route = { procedure: string; method: string; path: string };
const routes: Route[] = [];
// While recording, a procedure the doors call only records that its route reached it.
const recorder = vi.hoisted(() => ({ on: false, called: [] as string[] }));
vi.mock("../../server/http/trpc-wire.ts", async (original) => {
  const wire = await original<typeof import("../../server/http/trpc-wire.ts")>();
  const callProcedure: typeof wire.callProcedure = (...args) => {
    if (!recorder.on) return wire.callProcedure(...args);
    recorder.called.push(args[1]);
    return Promise.resolve({});
  };
  return { ...wire, callProcedure };
});

forEachOpenApiProcedure<Meta>(proceduresOf(appRouter), ({ path, meta }) => {
  if (meta.rawRoute) return; // served by server/http/image-routes.ts
  routes.push({ procedure: path, method: meta.openapi.method, path: meta.openapi.path });
});

describe("REST mapping", () => {
  it("has no two operations on one method and path shape", () => {
    const shapes = routes.map((r) => `${r.method} ${r.path.replace(/\{\w+\}/g, "{}")}`);
    expect(new Set(shapes).size).toBe(shapes.length);
  });

  it("routes every REST path to its own procedure, static segments before parameters", async () => {
    const app = Fastify();
    registerRestRoutes(app, { config: { PUBLIC_URL: "http://localhost" } } as Deps, appRouter);
    recorder.on = true;
    onTestFinished(() => {
      recorder.on = false;
    });
    for (const route of routes) {
      const url = `/api${route.path.replace(/\{\w+\}/g, "123")}`;
      const res = await app.inject({
        method: route.method as "GET",
        url,
        payload: route.method === "GET" || route.method === "DELETE" ? undefined : {},
      });
      expect(res.statusCode, `${route.method} ${url}`).toBeLessThan(300);
      expect(recorder.called.pop(), `${route.method} ${url}`).toBe(route.procedure);
    }
    await app.close();
  });
});

describe("the native door stays strict after REST traffic", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("coerces query strings for REST only", async () => {
    const { user, auth } = await t.userWithToken();
    const rest = await t.app.inject({ method: "GET", url: "/api/users?$top=1", headers: auth });
    expect(rest.statusCode).toBe(200);
    expect(rest.json().value).toHaveLength(1);

    const caller = await t.callerFor(user);
    await expect(caller.users.list({ $top: "1" } as never)).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });

    const input = encodeURIComponent(JSON.stringify({ $top: "1" }));
    const native = await t.app.inject({
      method: "GET",
      url: `/trpc/users.list?input=${input}`,
      headers: auth,
    });
    expect(native.statusCode).toBe(400);
    expect(native.json().error.data.code).toBe("INVALID_FILTER");
  });
});
