// A stock @trpc/client v11 against the listening service: every HTTP link, plain and with
// `methodOverride: "POST"`, split links, streamed batches whose calls finish out of order, a
// call failing beside others, AbortSignal, 16-call batches of long names, subscriptions.
import { createTRPCClient, httpSubscriptionLink, TRPCClientError } from "@trpc/client";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../../routers/router.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";
import {
  clientFor,
  countingFetch,
  LINKS,
  type LinkName,
  listenDoor,
  type ProbeRouter,
} from "./trpc-wire-harness.ts";

let t: TestApp;
let url: string;
let admin: Awaited<ReturnType<TestApp["userWithToken"]>>;
let probe: Awaited<ReturnType<typeof listenDoor>>;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/trpc`;
  admin = await t.userWithToken({ role: "AppAdmin" });
  await t.createUser();
  probe = await listenDoor(t.deps);
}, 60_000);
afterAll(async () => {
  await probe?.close();
  await t?.close();
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("the call should have failed"),
    (error: unknown) => {
      expect(error).toBeInstanceOf(TRPCClientError);
      return error as TRPCClientError<AppRouter>;
    },
  );

const linkNames = Object.keys(LINKS) as LinkName[];
const combinations = linkNames.flatMap((link) =>
  [undefined, "POST" as const].map((methodOverride) => ({
    link,
    methodOverride,
    name: `${link}${methodOverride ? " + methodOverride POST" : ""}`,
  })),
);

describe.each(combinations.map((c) => [c.name, c] as const))(
  "%s",
  (_, { link, methodOverride }) => {
    const api = (token?: string) =>
      clientFor<AppRouter>(link, url, { ...(token && { token }), methodOverride });

    it("an AppAdmin calls users.me and users.list at once, then a mutation", async () => {
      const client = api(admin.accessToken);
      const [me, page] = await Promise.all([
        client.users.me.query(),
        client.users.list.query({ $top: 5 }),
      ]);
      expect(me).toMatchObject({ id: admin.user.id, role: "AppAdmin" });
      expect(page.count).toBeGreaterThanOrEqual(2);
      expect(page.value.map((user) => user.id)).toContain(admin.user.id);
      const renamed = await client.users.updateMe.mutate({ firstName: `Via ${link}` });
      expect(renamed.firstName).toBe(`Via ${link}`);
    });

    it("one failing call beside succeeding ones keeps the API's code in error.data.code", async () => {
      const client = api(admin.accessToken);
      const [me, missing, page] = await Promise.allSettled([
        client.users.me.query(),
        client.users.get.query({ id: "999999" }),
        client.users.list.query({ $top: 1 }),
      ]);
      expect(me.status).toBe("fulfilled");
      expect(page.status).toBe("fulfilled");
      expect(missing.status).toBe("rejected");
      const error = (missing as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(TRPCClientError);
      expect(error.data).toMatchObject({ code: "USER_NOT_FOUND", httpStatus: 404 });

      const anonymous = await failure(api().users.me.query());
      expect(anonymous.data).toMatchObject({ code: "UNAUTHENTICATED", httpStatus: 401 });
      const invalid = await failure(
        api().users.signup.mutate({ email: "nope", password: "x", firstName: "", lastName: "" }),
      );
      expect(invalid.data).toMatchObject({ code: "VALIDATION_ERROR", httpStatus: 400 });
      expect(invalid.data?.issues?.length).toBeGreaterThan(0);
    });

    it("16 calls of long names go as one request; a 17th is refused in tRPC's shape", async () => {
      const counting = countingFetch();
      const client = clientFor<AppRouter>(link, url, {
        token: admin.accessToken,
        methodOverride,
        fetch: counting.fetch,
      });
      const id = admin.user.id;
      const sixteen = await Promise.all(
        Array.from({ length: 16 }, () => client.users.accessibleOrganizations.query({ id })),
      );
      expect(sixteen).toHaveLength(16);
      const batched = !link.startsWith("httpLink");
      expect(counting.sent).toHaveLength(batched ? 1 : 16);
      expect(counting.sent[0]?.method).toBe(methodOverride ?? "GET");
      // The procedure list alone is far beyond Fastify's default maxParamLength of 100.
      if (batched)
        expect(new URL(counting.sent[0]?.url ?? "").pathname.length).toBeGreaterThan(400);

      const mutations = await Promise.all(
        Array.from({ length: 16 }, (_, n) => client.users.updateMe.mutate({ lastName: `L${n}` })),
      );
      expect(mutations).toHaveLength(16);

      if (batched) {
        const seventeen = await Promise.allSettled(
          Array.from({ length: 17 }, () => client.users.me.query()),
        );
        for (const outcome of seventeen) {
          expect(outcome.status).toBe("rejected");
          const error = (outcome as PromiseRejectedResult).reason;
          expect(error.data).toMatchObject({ code: "VALIDATION_ERROR", httpStatus: 400 });
        }
      }
    });

    it("AbortSignal cancels a call without harming the others in its batch", async () => {
      const client = clientFor<ProbeRouter>(link, probe.url, { methodOverride });
      // One call aborted in flight: the rest of its batch is answered, a failure beside them
      // included. httpLink rejects that call; tRPC v11's batch links still hand it its answer
      // (their loader drops a call only when every call of its batch is aborted).
      const late = new AbortController();
      const inFlight = client.probe.wait
        .query({ ms: 800, value: "x" }, { signal: late.signal })
        .then(
          (data) => data,
          (error: Error) => error.message,
        );
      const others = Promise.all([
        client.probe.wait.query({ ms: 300, value: "a" }),
        client.probe.fail
          .query({ ms: 0, code: "CONFLICT" })
          .catch((error: TRPCClientError<ProbeRouter>) => error.data?.code),
      ]);
      setTimeout(() => late.abort(), 100);
      expect(await others).toEqual([{ value: "a" }, "CONFLICT"]);
      const settled = await inFlight.then(
        (data) => data,
        (error: Error) => error.message,
      );
      expect(settled).toEqual(
        link === "httpLink" ? expect.stringMatching(/abort/i) : { value: "x" },
      );

      // Every call of a batch aborted: the request is cancelled and the door goes on serving.
      const all = new AbortController();
      const cancelled = ["p", "q"].map((value) =>
        client.probe.wait.query({ ms: 1000, value }, { signal: all.signal }),
      );
      setTimeout(() => all.abort(), 100);
      for (const outcome of await Promise.allSettled(cancelled)) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason.message).toMatch(/abort/i);
      }
      await expect(client.probe.wait.query({ ms: 0, value: "after" })).resolves.toEqual({
        value: "after",
      });
    });
  },
);

describe("httpBatchStreamLink streams each call as it finishes", () => {
  it.each([undefined, "POST" as const])(
    "a fast call resolves before a slow one of the same batch (methodOverride %s)",
    async (methodOverride) => {
      const counting = countingFetch();
      const client = clientFor<ProbeRouter>("httpBatchStreamLink", probe.url, {
        methodOverride,
        fetch: counting.fetch,
      });
      const order: string[] = [];
      const track = (promise: Promise<{ value: string }>) =>
        promise.then((result) => order.push(result.value));
      const failed = client.probe.fail
        .query({ ms: 400, code: "CONFLICT" })
        .catch((error: TRPCClientError<ProbeRouter>) => {
          order.push("failed");
          return error;
        });
      await Promise.all([
        track(client.probe.wait.query({ ms: 1500, value: "slow" })),
        track(client.probe.wait.query({ ms: 0, value: "fast" })),
        failed,
      ]);
      expect(counting.sent).toHaveLength(1);
      expect(order).toEqual(["fast", "failed", "slow"]);
      expect((await failed).data).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
    },
  );

  it("every call's error arrives in the stream; the head is sent at once", async () => {
    const res = await fetch(
      `${probe.url}/probe.wait,probe.nothing?batch=1&input=${encodeURIComponent(
        JSON.stringify({ 0: { ms: 1000, value: "late" } }),
      )}`,
      { headers: { "trpc-accept": "application/jsonl" } },
    );
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const started = Date.now();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The head comes long before the slow call is done.
    expect(Date.now() - started).toBeLessThan(900);
    expect(JSON.parse(first.split("\n")[0] as string)).toEqual({
      0: [[0], [null, 0, 0]],
      1: [[0], [null, 0, 1]],
    });
    await reader.cancel();
  });
});

describe("subscriptions (httpSubscriptionLink, server-sent events)", () => {
  const subscriber = (target: string) =>
    createTRPCClient<ProbeRouter>({
      links: [httpSubscriptionLink({ url: target, EventSource })],
    });

  it("a subscription streams its values and ends", async () => {
    const client = subscriber(probe.url);
    const values = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      client.probe.ticks.subscribe(
        { to: 3, ms: 10 },
        { onData: (n) => seen.push(n), onError: reject, onComplete: () => resolve(seen) },
      );
    });
    expect(values).toEqual([1, 2, 3]);
  });

  it("a failing subscription gives the API's code", async () => {
    const client = subscriber(probe.url);
    const error = await new Promise<TRPCClientError<ProbeRouter>>((resolve, reject) => {
      client.probe.broken.subscribe(undefined, {
        onError: resolve,
        onComplete: () => reject(new Error("completed without the error")),
      });
    });
    expect(error.data).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
  });

  it("a subscription path on the service, which has none, answers tRPC's error", async () => {
    // What httpSubscriptionLink asks for, to a subscription the service does not have.
    const res = await fetch(`${url}/changes.feed?input=${encodeURIComponent("{}")}`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${admin.accessToken}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      message: 'No procedure found on path "changes.feed"',
      data: { code: "NOT_FOUND", httpStatus: 404, path: "changes.feed" },
    });
    // The stock client ends the subscription with an error instead of waiting for ever.
    const client = createTRPCClient<ProbeRouter>({
      links: [httpSubscriptionLink({ url, EventSource })],
    });
    const error = await new Promise<unknown>((resolve) => {
      client.probe.ticks.subscribe({ to: 1 }, { onError: resolve, onData: resolve });
    });
    expect(error).toBeInstanceOf(TRPCClientError);
  });
});
