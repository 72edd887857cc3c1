// The guard of server/http/trpc-wire.ts, the one file that uses tRPC's internals: after an
// upgrade of @trpc/server, every assumption that file makes is checked here, and a failure names
// the file to adapt instead of surfacing as a strange answer of the native door.
import { readFileSync } from "node:fs";
import {
  getErrorShape,
  isAsyncIterable,
  jsonlStreamProducer,
  sseHeaders,
  sseStreamProducer,
} from "@trpc/server/unstable-core-do-not-import";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createContext, type Deps } from "../../server/context.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import {
  callProcedure,
  errorEnvelope,
  jsonlBatchBody,
  procedureMeta,
  procedureSchemas,
  proceduresOf,
  procedureType,
  sseBody,
} from "../../server/http/trpc-wire.ts";
import { createCallerFactory, publicProcedure, router } from "../../server/trpc.ts";

const adapt = (what: string) =>
  `server/http/trpc-wire.ts relies on ${what}; @trpc/server changed it: adapt that file`;

const ZEcho = z.object({ word: z.string() });
const ZEchoed = z.object({ echoed: z.string() });
const probe = router({
  outer: router({
    echo: publicProcedure
      .input(ZEcho)
      .output(ZEchoed)
      .query(({ input }) => ({ echoed: input.word })),
    fail: publicProcedure.meta({ errors: ["CONFLICT"] }).mutation(() => {
      throw new AppError("CONFLICT", "probe conflict");
    }),
    ticks: publicProcedure.subscription(async function* () {
      yield 1;
      yield 2;
    }),
  }),
});
const ctx = createContext({} as Deps);

// A chain with every step the doors rely on: a middleware adding to the context and replacing
// the input, the input and output schemas (the output's extra field must not leave), a
// middleware that forgets `return next()`, one that throws, and a resolver's own error.
const chain = publicProcedure
  .use(({ ctx: c, next }) => next({ ctx: { ...c, extra: "from middleware" } }))
  .input(z.object({ n: z.number().int() }))
  .use(({ input, next }) => next({ input: { n: (input as { n: number }).n * 2 } }))
  .output(z.object({ n: z.number(), extra: z.string() }));
const chained = router({
  doubled: chain.query(({ ctx: c, input }) => ({
    n: input.n,
    extra: (c as { extra?: string }).extra ?? "none",
    secret: "never leaves",
  })),
  forgot: publicProcedure.use((async () => {}) as never).query(() => "unreachable"),
  thrown: publicProcedure
    .use(() => {
      throw new Error("plain failure");
    })
    .query(() => "unreachable"),
  refused: chain.mutation(() => {
    throw new AppError("CONFLICT", "refused");
  }),
});

const readAll = async (body: ReadableStream<Uint8Array>) => new Response(body).text();

describe("server/http/trpc-wire.ts's assumptions about @trpc/server", () => {
  it("the package is pinned exactly to the installed version", () => {
    const pinned = JSON.parse(readFileSync("package.json", "utf8")).dependencies;
    for (const name of ["@trpc/server", "@trpc/client"]) {
      const installed = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
      expect(pinned[name], adapt(`${name} pinned exactly (no range)`)).toBe(installed.version);
    }
  });

  it("unstable-core-do-not-import exports the encoders the native door uses", () => {
    const encoders = { getErrorShape, isAsyncIterable, jsonlStreamProducer, sseStreamProducer };
    for (const [name, encoder] of Object.entries(encoders)) {
      expect(typeof encoder, adapt(`unstable-core's ${name}()`)).toBe("function");
    }
    expect(sseHeaders, adapt("unstable-core's sseHeaders")).toMatchObject({
      "Content-Type": "text/event-stream",
    });
  });

  it("router._def.procedures lists every procedure by dotted path, with its type and schemas", () => {
    const procedures = proceduresOf(probe);
    expect(Object.keys(procedures).sort(), adapt("router._def.procedures")).toEqual([
      "outer.echo",
      "outer.fail",
      "outer.ticks",
    ]);
    const types = Object.values(procedures).map(procedureType);
    expect(types, adapt("procedure._def.type")).toEqual(["query", "mutation", "subscription"]);
    const { "outer.echo": echo, "outer.fail": fail } = procedures;
    expect(fail && procedureMeta(fail), adapt("procedure._def.meta")).toEqual({
      errors: ["CONFLICT"],
    });
    expect(echo && procedureSchemas(echo), adapt("procedure._def.inputs/output")).toEqual({
      input: ZEcho,
      output: ZEchoed,
    });
  });

  it("a procedure called directly runs its middlewares, input and output schemas", async () => {
    const { "outer.echo": echo, "outer.fail": fail } = proceduresOf(probe);
    if (!echo || !fail) throw new Error(adapt("router._def.procedures"));
    const call = (procedure: typeof echo, path: string, input: unknown) =>
      callProcedure(procedure, path, ctx, input);
    expect(await call(echo, "outer.echo", { word: "hi" }), adapt("the call signature")).toEqual({
      echoed: "hi",
    });
    await expect(
      call(echo, "outer.echo", { word: 1 }),
      adapt("input parsing"),
    ).rejects.toMatchObject({ apiCode: "VALIDATION_ERROR" });
    await expect(call(fail, "outer.fail", undefined), adapt("errors as thrown")).rejects.toThrow(
      AppError,
    );
  });

  it("a procedure called directly answers and fails exactly as tRPC's own caller does", async () => {
    const procedures = proceduresOf(chained);
    const caller = createCallerFactory(chained)(ctx) as unknown as Record<
      string,
      (input: unknown) => Promise<unknown>
    >;
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (data) => ({ data }),
        (error: AppError) => ({
          name: error.constructor.name,
          code: error.code,
          apiCode: error.apiCode,
          message: error.message,
        }),
      );
    const cases: [string, unknown][] = [
      ["doubled", { n: 21 }],
      ["doubled", { n: 1.5 }],
      ["doubled", { n: 2, more: true }],
      ["forgot", undefined],
      ["thrown", undefined],
      ["refused", { n: 1 }],
    ];
    for (const [path, input] of cases) {
      const procedure = procedures[path];
      if (!procedure) throw new Error(adapt("router._def.procedures"));
      const direct = await outcome(callProcedure(procedure, path, ctx, input));
      const viaCaller = await outcome((caller[path] as (i: unknown) => Promise<unknown>)(input));
      expect(direct, adapt(`the middleware chain (${path})`)).toEqual(viaCaller);
    }
    expect(await callProcedure(procedures.doubled as never, "doubled", ctx, { n: 21 })).toEqual({
      n: 42,
      extra: "from middleware",
    });
  });

  it("a subscription called directly answers its stream, which tRPC's SSE encoder writes", async () => {
    const ticks = proceduresOf(probe)["outer.ticks"];
    if (!ticks) throw new Error(adapt("router._def.procedures"));
    const aborted = new AbortController();
    const data = await callProcedure(ticks, "outer.ticks", ctx, undefined, aborted.signal);
    expect(isAsyncIterable(data), adapt("a subscription's result")).toBe(true);
    const call = { path: "outer.ticks", input: undefined, lastEventId: null };
    const sse = sseBody(probe, { ok: true, data }, { ...call, signal: aborted.signal });
    expect(sse.headers["Content-Type"], adapt("sseHeaders")).toBe("text/event-stream");
    const text = await readAll(sse.body);
    expect(text, adapt("sseStreamProducer")).toMatch(/data: 1\n[\s\S]*data: 2\n/);
  });

  it("errors take the error formatter's shape, alone and inside a JSON-lines batch", async () => {
    const error = new AppError("CONFLICT", "probe conflict");
    const call = { type: "mutation" as const, path: "outer.fail", input: undefined };
    const envelope = errorEnvelope(probe, error, call);
    expect(envelope, adapt("getErrorShape with router._def._config")).toEqual({
      error: {
        message: "probe conflict",
        code: -32009,
        data: { code: "CONFLICT", httpStatus: 409, path: "outer.fail" },
      },
    });
    const batch = jsonlBatchBody(probe, [
      Promise.resolve({ ok: true, data: { echoed: "hi" } }),
      Promise.resolve({ ok: false, error, envelope }),
    ]);
    // tRPC's adapters label their JSON lines application/json too.
    expect(batch.contentType, adapt("the JSON-lines content type")).toBe("application/json");
    const lines = (await readAll(batch.body)).trim().split("\n");
    expect(lines.length, adapt("jsonlStreamProducer")).toBeGreaterThan(1);
    const text = lines.join("\n");
    expect(text, adapt("jsonlStreamProducer")).toContain('"echoed":"hi"');
    expect(text, adapt("jsonlStreamProducer")).toContain('"code":"CONFLICT"');
  });
});
