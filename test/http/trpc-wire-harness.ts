// What the native-door tests share: a probe router (procedures whose timing and failures a test
// chooses, beside the real users and auth procedures), the door and tRPC's own fetch adapter
// serving it on loopback, and clients made with a stock @trpc/client.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  splitLink,
  type TRPCLink,
} from "@trpc/client";
import type { AnyRouter } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { authRouter } from "../../routers/auth/router.ts";
import { usersRouter } from "../../routers/users/router.ts";
import { createContext, type Deps } from "../../server/context.ts";
import { API_ERRORS, type ApiErrorCode, AppError } from "../../server/errors/api-errors.ts";
import { registerTrpcDoor } from "../../server/http/trpc-http.ts";
import { publicProcedure, router } from "../../server/trpc.ts";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

const ZCode = z.enum(Object.keys(API_ERRORS) as [ApiErrorCode, ...ApiErrorCode[]]);

/** The real users and auth procedures, and probes whose timing and failures a test chooses. */
export const probeRouter = router({
  users: usersRouter,
  auth: authRouter,
  probe: router({
    /** Answers `value` after `ms`. */
    wait: publicProcedure
      .input(z.object({ ms: z.number().int().min(0), value: z.string() }))
      .query(async ({ input }) => {
        await sleep(input.ms);
        return { value: input.value };
      }),
    /** Fails with the API's `code` after `ms`. */
    fail: publicProcedure
      .input(z.object({ ms: z.number().int().min(0), code: ZCode }))
      .query(async ({ input }) => {
        await sleep(input.ms);
        throw new AppError(input.code, `probe failed with ${input.code}`);
      }),
    echo: publicProcedure
      .input(z.object({ text: z.string() }))
      .mutation(({ input }) => ({ echoed: input.text })),
    /** Counts from 1 to `to`, `ms` apart; ends early when the client leaves. */
    ticks: publicProcedure
      .input(z.object({ to: z.number().int().min(0), ms: z.number().int().min(0).default(0) }))
      .subscription(async function* ({ input, signal }) {
        for (let n = 1; n <= input.to && !signal?.aborted; n++) {
          await sleep(input.ms, signal);
          yield n;
        }
      }),
    /** Fails once started. */
    broken: publicProcedure.subscription(async function* () {
      yield 1;
      throw new AppError("CONFLICT", "the feed broke");
    }),
  }),
});
export type ProbeRouter = typeof probeRouter;

const baseUrl = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** The native door (server/http/trpc-http.ts) serving `router` alone, listening on loopback. */
export async function listenDoor(deps: Deps, served: AnyRouter = probeRouter) {
  // A connection whose request the client aborted lingers until Fastify's keep-alive timeout
  // (Fastify and undici do that with any route); a test server need not wait for it.
  const app: FastifyInstance = Fastify({
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    forceCloseConnections: true,
  });
  // As server/app.ts: an empty JSON body (a POSTed query without input) is no input.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    if (body === "") done(null, undefined);
    else parseJson(req, body as string, done);
  });
  await registerTrpcDoor(app, deps, served);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `${baseUrl(app.server)}/trpc`, close: () => app.close() };
}

/**
 * tRPC's own fetch adapter serving the same router with the same context, as the reference the
 * door is compared with: `allowMethodOverride` (the door's rule) and the door's batch limit.
 */
export async function listenReference(deps: Deps, served: AnyRouter = probeRouter) {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const response = await fetchRequestHandler({
      endpoint: "/trpc",
      router: served,
      allowMethodOverride: true,
      maxBatchSize: 16,
      req: new Request(`${baseUrl(server)}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: hasBody ? Buffer.concat(chunks) : undefined,
      }),
      createContext: () => createContext(deps, { authorization: req.headers.authorization }),
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) for await (const chunk of response.body) res.write(chunk);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `${baseUrl(server)}/trpc`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type LinkOptions = {
  url: string;
  headers: () => Record<string, string>;
  methodOverride?: "POST";
  fetch?: typeof fetch;
};

/** Every way a stock client reaches the door over HTTP, by name. */
export const LINKS = {
  httpLink: (o: LinkOptions) => httpLink(o),
  httpBatchLink: (o: LinkOptions) => httpBatchLink(o),
  httpBatchStreamLink: (o: LinkOptions) => httpBatchStreamLink(o),
  // create-t3-app's split: streamed queries, single mutations.
  "splitLink(stream queries, httpLink mutations)": (o: LinkOptions) =>
    splitLink({
      condition: (op) => op.type === "query",
      true: httpBatchStreamLink(o),
      false: httpLink(o),
    }),
  // Batched mutations, streamed queries.
  "splitLink(httpBatchLink mutations, stream queries)": (o: LinkOptions) =>
    splitLink({
      condition: (op) => op.type === "mutation",
      true: httpBatchLink(o),
      false: httpBatchStreamLink(o),
    }),
} satisfies Record<string, (o: LinkOptions) => TRPCLink<AnyRouter>>;
export type LinkName = keyof typeof LINKS;

/** A typed client for `TRouter` over one of LINKS, with the caller's token when given. */
export function clientFor<TRouter extends AnyRouter>(
  link: LinkName,
  url: string,
  options: { token?: string; methodOverride?: "POST"; fetch?: typeof fetch } = {},
) {
  const headers = (): Record<string, string> =>
    options.token ? { authorization: `Bearer ${options.token}` } : {};
  return createTRPCClient<TRouter>({
    links: [
      LINKS[link]({
        url,
        headers,
        ...(options.methodOverride && { methodOverride: options.methodOverride }),
        ...(options.fetch && { fetch: options.fetch }),
      }) as TRPCLink<TRouter>,
    ],
  });
}

/** A fetch that counts the HTTP requests a client sends (to prove a batch went as one). */
export function countingFetch() {
  const sent: { method: string; url: string }[] = [];
  const counted = ((input: string | URL | Request, init?: RequestInit) => {
    sent.push({ method: init?.method ?? "GET", url: String(input) });
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: counted, sent };
}
