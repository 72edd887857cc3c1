// The door against tRPC's own fetch adapter (fetchRequestHandler, allowMethodOverride, the same
// router and context): each request a stock client sends, on every link and with method
// override, goes to both, and the answers must agree byte for byte (status, content type, body).
// Calls in one batch finish at distinct times, so a stream's chunk order is deterministic.
import type { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import {
  clientFor,
  LINKS,
  type LinkName,
  listenDoor,
  listenReference,
  type ProbeRouter,
} from "./trpc-wire-harness.ts";

let t: TestApp;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
let door: Awaited<ReturnType<typeof listenDoor>>;
let reference: Awaited<ReturnType<typeof listenReference>>;

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken({ role: "AppAdmin" });
  door = await listenDoor(t.deps);
  reference = await listenReference(t.deps);
}, 60_000);
afterAll(async () => {
  await door?.close();
  await reference?.close();
  await t?.close();
});

type Answer = { status: number; contentType: string | null; body: string; allow: string | null };

/**
 * The media type without parameters: every JSON answer of the service states `charset=utf-8`
 * (test/security/api8), which tRPC's adapters leave out; the bytes of the body must be the same.
 */
const mediaType = (res: Response) => res.headers.get("content-type")?.split(";")[0] ?? null;

const read = async (res: Response): Promise<Answer> => ({
  status: res.status,
  contentType: mediaType(res),
  body: await res.text(),
  allow: res.headers.get("allow"),
});

/** Sends each request to the door and to the reference, keeps both answers, hands the door's on. */
function twinFetch(compared: { request: string; door: Answer; reference: Answer }[]) {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const options = { ...init, signal: null };
    const ours = await read(await fetch(url, options));
    const theirs = await read(await fetch(url.replace(door.url, reference.url), options));
    compared.push({ request: `${init?.method ?? "GET"} ${url}`, door: ours, reference: theirs });
    return new Response(ours.body, {
      status: ours.status,
      headers: ours.contentType ? { "content-type": ours.contentType } : {},
    });
  }) as typeof fetch;
}

const combinations = (Object.keys(LINKS) as LinkName[]).flatMap((link) =>
  [undefined, "POST" as const].map(
    (methodOverride) =>
      [`${link}${methodOverride ? " + methodOverride POST" : ""}`, link, methodOverride] as const,
  ),
);

describe.each(combinations)(
  "%s answers as tRPC's fetch adapter does",
  (_, link, methodOverride) => {
    it("the same bytes for results, errors, out-of-order batches and mutations", async () => {
      const compared: Parameters<typeof twinFetch>[0] = [];
      const client = (token?: string) =>
        clientFor<ProbeRouter>(link, door.url, {
          ...(token && { token }),
          methodOverride,
          fetch: twinFetch(compared),
        });
      const api = client(admin.accessToken);

      await expect(api.users.me.query()).resolves.toMatchObject({ id: admin.user.id });
      // Index order is not finishing order: fast, then the failure, then slow.
      const [slow, fast, failed] = await Promise.allSettled([
        api.probe.wait.query({ ms: 400, value: "slow" }),
        api.probe.wait.query({ ms: 0, value: "fast" }),
        api.probe.fail.query({ ms: 150, code: "CONFLICT" }),
      ]);
      expect([slow, fast].map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
      expect((failed as PromiseRejectedResult).reason.data.code).toBe("CONFLICT");
      const missing = await api.users.get.query({ id: "999999" }).catch((e: unknown) => e);
      expect((missing as TRPCClientError<ProbeRouter>).data?.code).toBe("USER_NOT_FOUND");
      await expect(api.probe.echo.mutate({ text: "hi" })).resolves.toEqual({ echoed: "hi" });
      const anonymous = await client()
        .users.me.query()
        .catch((e: unknown) => e);
      expect((anonymous as TRPCClientError<ProbeRouter>).data?.code).toBe("UNAUTHENTICATED");
      const invalid = await api.probe.echo.mutate({ text: 1 as never }).catch((e: unknown) => e);
      expect((invalid as TRPCClientError<ProbeRouter>).data?.code).toBe("VALIDATION_ERROR");

      expect(compared.length).toBeGreaterThanOrEqual(6);
      for (const { request, door: ours, reference: theirs } of compared) {
        expect({ request, ...ours, allow: null }).toEqual({ request, ...theirs, allow: null });
      }
    });
  },
);

describe("requests a client does not make through a link, compared the same way", () => {
  const both = async (path: string, init: RequestInit = {}) => {
    const ours = await read(await fetch(`${door.url}${path}`, init));
    const theirs = await read(await fetch(`${reference.url}${path}`, init));
    return { ours, theirs };
  };
  const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

  it.each([
    ["a subscription's server-sent events", `/probe.ticks?input=${input({ to: 3 })}`, {}],
    ["a subscription that fails", "/probe.broken", {}],
    ["a mutation by GET (405 with Allow)", `/probe.echo?input=${input({ text: "x" })}`, {}],
    ["an unknown procedure", "/probe.nothing", {}],
    [
      "a batch mixing an unknown procedure",
      `/probe.wait,probe.nothing?batch=1&input=${input({ 0: { ms: 0, value: "v" } })}`,
      {},
    ],
    [
      "a streamed batch with an error",
      `/probe.wait,probe.fail?batch=1&input=${input({
        0: { ms: 100, value: "v" },
        1: { ms: 0, code: "RATE_LIMITED" },
      })}`,
      { headers: { "trpc-accept": "application/jsonl" } },
    ],
    [
      "a streamed batch asked for with Accept",
      `/probe.wait?batch=1&input=${input({ 0: { ms: 0, value: "v" } })}`,
      { headers: { accept: "application/jsonl" } },
    ],
    ["HEAD", "/probe.wait", { method: "HEAD" }],
  ] as const)("%s", async (_, path, init) => {
    const { ours, theirs } = await both(path, init);
    expect(ours).toEqual(theirs);
  });

  it("a streaming request that is not a batch: the same status and body", async () => {
    const { ours, theirs } = await both(`/probe.wait?input=${input({ ms: 0, value: "v" })}`, {
      headers: { "trpc-accept": "application/jsonl" },
    });
    // tRPC's adapter labels this one answer text/plain (a Response made from a string); the
    // door says what it is, JSON.
    expect({ ...ours, contentType: null }).toEqual({ ...theirs, contentType: null });
    expect(ours.contentType).toBe("application/json");
  });

  it("a batch over the limit is refused by both with the same status and code", async () => {
    const paths = Array.from({ length: 17 }, () => "probe.wait").join(",");
    const { ours, theirs } = await both(`/${paths}?batch=1`);
    expect([ours.status, theirs.status]).toEqual([400, 400]);
    const code = (answer: Answer) => JSON.parse(answer.body).error.data.code;
    expect(code(ours)).toBe("VALIDATION_ERROR");
    expect(code(theirs)).toBe("VALIDATION_ERROR");
  });
});
