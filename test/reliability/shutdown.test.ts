// Graceful shutdown of a real server process on PostgreSQL. A slow request is made by holding a
// row lock from the test (`select … for update`), so an admin's PATCH /api/users/{id} blocks in
// the database; then the process gets SIGTERM.

import { connect, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_EMAIL,
  bodyOf,
  createDatabase,
  type FreshDatabase,
  killAllServers,
  login,
  PASSWORD,
  pgServerUnavailable,
  report,
  signupAndLogin,
  sleep,
  startServer,
  tryApi,
  uniqueEmail,
  waitFor,
} from "./helpers.ts";

const unavailable = await pgServerUnavailable();

type RawResponse = { status: number; headers: Record<string, string>; body: string };

/**
 * A raw keep-alive HTTP/1.1 connection: requests are written as they come (pipelined) and the
 * responses are read in order. Only Content-Length bodies are understood (all this service sends).
 */
class RawConnection {
  private buffer = Buffer.alloc(0);
  private readonly responses: RawResponse[] = [];
  private closed = false;
  private wake: () => void = () => {};
  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  send(method: string, path: string, token: string, body?: unknown) {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const head = [
      `${method} ${path} HTTP/1.1`,
      "host: 127.0.0.1",
      `authorization: Bearer ${token}`,
      "connection: keep-alive",
      ...(body === undefined
        ? []
        : ["content-type: application/json", `content-length: ${Buffer.byteLength(payload)}`]),
    ];
    this.socket.write(`${head.join("\r\n")}\r\n\r\n${payload}`);
  }

  /** Waits for the n-th response (1-based) on this connection. */
  async response(n: number, timeoutMs: number): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n) {
      if (this.closed)
        throw new Error(`connection closed after ${this.responses.length} responses`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response #${n} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.responses[n - 1] as RawResponse;
  }

  get isClosed() {
    return this.closed;
  }

  destroy() {
    this.socket.destroy();
  }

  private parse() {
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.buffer.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(lines[0]?.split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      if (headers["transfer-encoding"]) throw new Error("chunked responses are not handled");
      const length = Number(headers["content-length"] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString("utf8");
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.responses.push({ status, headers, body });
    }
  }
}

/** Waits until a statement of that database waits on a lock (the PATCH has reached the row). */
async function waitForLockWait(observer: pg.Client, database: string) {
  await waitFor(
    "the PATCH to wait on the row lock",
    async () => {
      const { rows } = await observer.query(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'",
        [database],
      );
      return (rows[0] as { n: number }).n > 0;
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  );
}

describe.skipIf(unavailable)(
  `graceful shutdown (SIGTERM) on PostgreSQL${unavailable ? ` — SKIPPED: ${unavailable}` : ""}`,
  () => {
    let database: FreshDatabase;
    const clients: pg.Client[] = [];
    const sockets: RawConnection[] = [];

    beforeAll(async () => {
      database = await createDatabase("shutdown");
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      for (const client of clients) await client.end().catch(() => {});
      await killAllServers();
      await database?.drop();
    });

    async function pgClient() {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      clients.push(client);
      return client;
    }

    async function serverWithTarget(env: Record<string, string> = {}) {
      const server = await startServer({
        DATABASE_URL: database.url,
        ADMIN_EMAIL,
        ADMIN_PASSWORD: PASSWORD,
        DB_STATEMENT_TIMEOUT_MS: "30000",
        ...env,
      });
      const admin = await login(server.url, ADMIN_EMAIL);
      const target = await signupAndLogin(server.url, uniqueEmail("drain"));
      return { server, admin, target };
    }

    /** Holds the target's row lock in an open transaction of the test. */
    async function lockRow(id: number) {
      const locker = await pgClient();
      await locker.query("begin");
      await locker.query("select id from users where id = $1 for update", [id]);
      return locker;
    }

    it("finishes the request in flight, answers 503 to new ones, exits 0", async () => {
      const { server, admin, target } = await serverWithTarget({ SHUTDOWN_TIMEOUT_MS: "15000" });
      const observer = await pgClient();
      const locker = await lockRow(target.id);

      // The slow request: blocked on the row lock, on a keep-alive connection.
      const busy = await RawConnection.open(server.port);
      sockets.push(busy);
      busy.send("PATCH", `/api/users/${target.id}`, admin.accessToken, { firstName: "Drained" });
      await waitForLockWait(observer, database.name);

      const sigterm = performance.now();
      server.signal("SIGTERM");

      // New connections during the drain: a 503 in the API's shape, or refused once the
      // listener is closed. Never anything else.
      const fresh = await waitFor(
        "new connections to be turned away",
        async () => {
          const res = await tryApi(server.url, "GET", "/api/users/me", {
            token: admin.accessToken,
            timeoutMs: 3000,
          });
          if ("error" in res) return res.error === "ECONNREFUSED" ? res : undefined;
          return res.status === 503 ? res : undefined;
        },
        { timeoutMs: 3000, intervalMs: 10 },
      );
      if ("status" in fresh) {
        expect(bodyOf(fresh).code).toBe("SERVICE_UNAVAILABLE");
        expect(fresh.headers["retry-after"]).toBeDefined();
      }

      // A request arriving during the drain on a connection that is still open (the busy one):
      // it is not run. It is answered 503 SERVICE_UNAVAILABLE with Retry-After, or — since the
      // answer before it says `Connection: close` — left unanswered on a closed connection, which
      // tells a pipelining client to retry it elsewhere (RFC 9112 §9.3.2).
      busy.send("GET", "/api/users/me", admin.accessToken);

      // The drain waits for the request in flight: still running while the lock is held.
      await sleep(750);
      expect(server.isRunning()).toBe(true);
      const released = performance.now();
      await locker.query("commit");

      const first = await busy.response(1, 10_000);
      const second = await busy.response(2, 10_000).catch(() => undefined);
      const exit = await server.exited;

      expect(first.status, first.body).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ id: target.id, firstName: "Drained" });
      expect(first.headers.connection).toBe("close");
      if (second) {
        expect(second.status, second.body).toBe(503);
        expect(JSON.parse(second.body)).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
        expect(second.headers["retry-after"]).toBeDefined();
      } else {
        expect(busy.isClosed).toBe(true);
      }
      expect(exit, server.output()).toMatchObject({ code: 0, signal: null });

      // The in-flight write was committed, not cut.
      const { rows } = await observer.query("select first_name from users where id = $1", [
        target.id,
      ]);
      expect(rows[0]).toEqual({ first_name: "Drained" });

      report("shutdown", {
        drainMs_sigtermToExit: exit.at - sigterm,
        drainMs_releaseToExit: exit.at - released,
        lockHeldAfterSigtermMs: released - sigterm,
        newConnectionDuringDrain: "status" in fresh ? `HTTP ${fresh.status}` : fresh.error,
      });
    });

    it("closes keep-alive connections while draining: exits once the slowest request is done", async () => {
      const shutdownTimeoutMs = 30_000;
      const { server, admin, target } = await serverWithTarget({
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      });
      const observer = await pgClient();
      // A client that keeps its connection open after a finished request.
      const idle = await RawConnection.open(server.port);
      sockets.push(idle);
      idle.send("GET", "/api/users/me", admin.accessToken);
      expect((await idle.response(1, 10_000)).status).toBe(200);
      // The slowest request: in flight, on a keep-alive connection, until the lock is released.
      const locker = await lockRow(target.id);
      const busy = await RawConnection.open(server.port);
      sockets.push(busy);
      busy.send("PATCH", `/api/users/${target.id}`, admin.accessToken, { firstName: "Slowest" });
      await waitForLockWait(observer, database.name);

      const sigterm = performance.now();
      server.signal("SIGTERM");
      await waitFor("the idle keep-alive connection to be closed", () => idle.isClosed, {
        timeoutMs: 5000,
      });
      await sleep(500);
      expect(server.isRunning(), "the drain waits for the request in flight").toBe(true);
      const released = performance.now();
      await locker.query("commit");

      const answer = await busy.response(1, 10_000);
      const exit = await server.exited;
      report("shutdown-keep-alive", {
        shutdownTimeoutMs,
        sigtermToExitMs: exit.at - sigterm,
        releaseToExitMs: exit.at - released,
      });
      expect(answer.status, answer.body).toBe(200);
      expect(exit, server.output()).toMatchObject({ code: 0, signal: null });
      // As long as the slowest request, not SHUTDOWN_TIMEOUT_MS (a generous bound for busy cores).
      expect(exit.at - released).toBeLessThan(5000);
      expect(answer.headers.connection).toBe("close");
    });

    it("cuts a request stuck past SHUTDOWN_TIMEOUT_MS and still exits 0 within the bound", async () => {
      const shutdownTimeoutMs = 1500;
      const { server, admin, target } = await serverWithTarget({
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      });
      const observer = await pgClient();
      const locker = await lockRow(target.id);
      const busy = await RawConnection.open(server.port);
      sockets.push(busy);
      busy.send("PATCH", `/api/users/${target.id}`, admin.accessToken, { firstName: "Stuck" });
      await waitForLockWait(observer, database.name);

      const sigterm = performance.now();
      server.signal("SIGTERM");
      // The lock is held for far longer than the shutdown timeout (but released in the end so
      // that a hanging process is not left behind).
      const exitOrTimeout = await Promise.race([
        server.exited,
        sleep(shutdownTimeoutMs + 3500).then(() => undefined),
      ]);
      const waited = performance.now() - sigterm;
      await locker.query("rollback");
      const exit = exitOrTimeout ?? (await server.exited);
      report("shutdown-timeout", {
        shutdownTimeoutMs,
        sigtermToExitMs: exit.at - sigterm,
        exitedBeforeLockRelease: exitOrTimeout ? "yes" : "no",
        exitCode: String(exit.code),
      });
      // The connection of the stuck request was cut (no 200 after the deadline).
      expect(busy.isClosed).toBe(true);
      expect(
        exitOrTimeout,
        `still running ${Math.round(waited)} ms after SIGTERM with SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs}: the drain waits for the stuck database statement`,
      ).toBeDefined();
      expect(exit).toMatchObject({ code: 0, signal: null });
      // Nothing half-done: the PATCH never committed.
      const res = await observer.query("select first_name from users where id = $1", [target.id]);
      expect(res.rows[0]).not.toEqual({ first_name: "Stuck" });
    });
  },
);
