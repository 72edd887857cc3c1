/**
 * Two browser tabs refreshing with the same token at once must not end the session: within
 * REFRESH_REUSE_GRACE_SECONDS of a rotation, the spent token answers again with the same
 * successor refresh token (so the tabs converge), while the successor is unused. Outside the
 * window, or once the successor has itself been rotated, reuse revokes the family as before.
 */
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZTokenPair } from "../../routers/auth/token-schema.ts";
import { buildApp } from "../../server/app.ts";
import { hashToken } from "../../server/auth/opaque-tokens.ts";
import { buildDeps } from "../../server/deps.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

const ROUNDS = 8;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type Door = "rest" | "trpc";

/** One refresh through a door: the status and, on success, the pair. */
async function refreshVia(door: Door, refreshToken: string, app: FastifyInstance = t.app) {
  const res = await app.inject({
    method: "POST",
    url: door === "rest" ? "/api/auth/refresh" : "/trpc/auth.refresh",
    payload: { refreshToken },
  });
  if (res.statusCode !== 200) return { status: res.statusCode, body: res.json() };
  const body = res.json();
  return { status: 200, pair: ZTokenPair.parse(door === "rest" ? body : body.result.data) };
}

const me = (accessToken: string) =>
  t.app.inject({
    method: "GET",
    url: "/api/users/me",
    headers: { authorization: `Bearer ${accessToken}` },
  });

/** Moves a spent token's rotation back in time, past any grace window. */
const ageSpentToken = (refreshToken: string, seconds: number) =>
  t.db
    .updateTable("refresh_tokens")
    .set({ spent_at: sql`now() - make_interval(secs => ${seconds})` })
    .where("token_hash", "=", hashToken(refreshToken))
    .execute();

const MIXES: Record<string, Door[]> = {
  "two over REST": ["rest", "rest"],
  "two over tRPC": ["trpc", "trpc"],
  "five over both doors": ["rest", "trpc", "rest", "trpc", "rest"],
};

describe("concurrent refreshes with one token", () => {
  for (const [name, doors] of Object.entries(MIXES)) {
    it(`${name}, ${ROUNDS} rounds: all succeed with the same successor, and the session lives on`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const user = await t.createUser();
        const first = await t.login(user);
        const results = await Promise.all(
          doors.map((door) => refreshVia(door, first.refreshToken)),
        );
        expect(
          results.map((result) => result.status),
          `round ${round}: ${JSON.stringify(results.map((r) => r.body))}`,
        ).toEqual(doors.map(() => 200));
        const successors = new Set(results.map((result) => result.pair?.refreshToken));
        expect(successors.size, `round ${round}`).toBe(1);
        const [successor] = [...successors] as [string];
        expect(successor).not.toBe(first.refreshToken);
        // Every access token handed out works, and the family goes on from the successor.
        for (const result of results) {
          expect((await me(result.pair?.accessToken as string)).statusCode).toBe(200);
        }
        const next = await refreshVia("rest", successor);
        expect(next.status).toBe(200);
        expect(next.pair?.refreshToken).not.toBe(successor);
        expect((await me(next.pair?.accessToken as string)).statusCode).toBe(200);
      }
    }, 120_000);
  }
});

describe("reuse outside the grace window", () => {
  for (const door of ["rest", "trpc"] as const) {
    it(`${door}: a token spent longer ago than the window revokes the whole family`, async () => {
      const user = await t.createUser();
      const first = await t.login(user);
      const second = await refreshVia(door, first.refreshToken);
      expect(second.status).toBe(200);
      await ageSpentToken(first.refreshToken, t.config.REFRESH_REUSE_GRACE_SECONDS + 1);

      const replay = await refreshVia(door, first.refreshToken);
      expect(replay.status).toBe(401);
      expect((await refreshVia(door, second.pair?.refreshToken as string)).status).toBe(401);
      expect((await me(second.pair?.accessToken as string)).statusCode).toBe(401);
    });

    it(`${door}: within the window, a successor already rotated is not handed out again; the family is revoked`, async () => {
      const user = await t.createUser();
      const first = await t.login(user);
      const second = await refreshVia(door, first.refreshToken);
      const third = await refreshVia(door, second.pair?.refreshToken as string);
      expect(third.status).toBe(200);

      const replay = await refreshVia(door, first.refreshToken);
      expect(replay.status).toBe(401);
      expect((await refreshVia(door, third.pair?.refreshToken as string)).status).toBe(401);
      expect((await me(third.pair?.accessToken as string)).statusCode).toBe(401);
    });
  }

  it("REFRESH_REUSE_GRACE_SECONDS=0: any reuse revokes the family at once", async () => {
    const strict = await buildApp(
      await buildDeps({ ...t.config, REFRESH_REUSE_GRACE_SECONDS: 0 }, { db: t.db }),
    );
    try {
      const user = await t.createUser();
      const first = await t.login(user);
      const second = await refreshVia("rest", first.refreshToken, strict);
      expect(second.status).toBe(200);
      expect((await refreshVia("trpc", first.refreshToken, strict)).status).toBe(401);
      expect((await refreshVia("rest", second.pair?.refreshToken as string, strict)).status).toBe(
        401,
      );
    } finally {
      await strict.close();
    }
  });
});
