import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import type { Database } from "./database.ts";

export type Listener = { close(): Promise<void> };

/** How often the channel is checked, and how long its echo may take before it counts as lost. */
const ECHO = { everyMs: 5000, withinMs: 1500 };

type ListenOptions = {
  databaseUrl: string;
  /**
   * Where the echo check sends its NOTIFY: the service's own pool, the way every real
   * notification reaches the database (a trigger at commit of a write made through it).
   */
  db: Kysely<Database>;
  channel: string;
  log: Pick<FastifyBaseLogger, "warn" | "info">;
  /** A NOTIFY on the channel arrived, with its payload. */
  onNotification: (payload: string) => void;
  /** Notifications arrive (again): those sent while nobody heard them are lost. */
  onListening: () => void;
  /** Notifications may be missed (connection dropped, or the channel stopped echoing) until `onListening`. */
  onLost?: () => void;
  /** What the service does while this channel is deaf (said in the warning). */
  whileDeaf?: string;
};

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel, and checks that it really hears:
 * a LISTEN through a transaction-mode pooler (PgBouncer) is accepted but never delivers, and a
 * half-open connection delivers nothing either. So the connection also LISTENs on an echo channel
 * of its own, NOTIFYs it through the pool every 5 s, and counts as heard only once the echo
 * comes back within 1.5 s: `onListening` runs on the first echo, `onLost` when one is
 * missed or the connection drops. A drop reconnects (1 s, 2 s, … up to 30 s apart).
 */
export function listen(options: ListenOptions): Listener {
  // Unique to this connection, so no other process's echo (or any real notification) mixes in.
  const echoChannel = `${options.channel}_echo_${randomBytes(8).toString("hex")}`;
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let echoTimer: NodeJS.Timeout | undefined;
  let heard = false;
  let deafLogged = false;
  /** The payload of the echo awaited now: the next round of the check finds it missing. */
  let awaitedEcho: string | undefined;

  const setHeard = (next: boolean) => {
    if (heard === next) return;
    heard = next;
    if (next) {
      if (deafLogged) options.log.info({ channel: options.channel }, "LISTEN channel echoes again");
      deafLogged = false;
      options.onListening();
    } else {
      options.onLost?.();
    }
  };

  /** A LISTEN that does not echo: said once per episode, with what fixes it. */
  const reportDeaf = () => {
    if (deafLogged) return;
    deafLogged = true;
    options.log.warn(
      { channel: options.channel, withinMs: ECHO.withinMs },
      "LISTEN channel does not echo its own NOTIFY (a transaction-mode pooler such as PgBouncer " +
        "between the service and PostgreSQL does not deliver notifications): " +
        (options.whileDeaf ??
          "auth state is read from the database on every request and the mail worker polls every second") +
        " until it echoes. Fix: set DATABASE_LISTEN_URL to a direct connection to PostgreSQL.",
    );
  };

  /** One round of the check: the echo of the previous NOTIFY must have come back by now. */
  const checkEcho = async () => {
    // Between a drop and the reconnect the connection's loss has been said already.
    if (closed || !client) return;
    if (awaitedEcho) {
      awaitedEcho = undefined;
      setHeard(false);
      reportDeaf();
    }
    const payload = randomBytes(6).toString("hex");
    awaitedEcho = payload;
    try {
      await sql`select pg_notify(${echoChannel}, ${payload})`.execute(options.db);
    } catch {
      // The database is unreachable: the connection's own error says so; the echo stays awaited.
    }
  };

  const scheduleEcho = (delayMs: number) => {
    if (closed) return;
    clearTimeout(echoTimer);
    echoTimer = setTimeout(async () => {
      await checkEcho();
      if (!client) return;
      // The echo's time runs from when the NOTIFY is done, so a wait for a pool connection
      // under load does not count against the channel.
      scheduleEcho(awaitedEcho ? ECHO.withinMs : ECHO.everyMs);
    }, delayMs);
    echoTimer.unref();
  };

  const onEcho = (payload: string) => {
    // An echo of an earlier round (already counted missing) is not this one.
    if (awaitedEcho !== payload) return;
    awaitedEcho = undefined;
    setHeard(true);
    scheduleEcho(ECHO.everyMs);
  };

  const reconnectLater = () => {
    if (closed || retryTimer) return;
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures, 5));
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
    retryTimer.unref();
  };

  const connect = async () => {
    const next = new pg.Client({
      connectionString: options.databaseUrl,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    client = next;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (client === next) client = undefined;
      next.end().catch(() => {});
      if (closed) return;
      clearTimeout(echoTimer);
      awaitedEcho = undefined;
      setHeard(false);
      options.log.warn(
        { channel: options.channel, error: error?.message ?? "connection ended" },
        "LISTEN connection lost",
      );
      reconnectLater();
    };
    next.on("error", onLost);
    next.on("end", () => onLost());
    next.on("notification", (message) => {
      if (message.channel === echoChannel) onEcho(message.payload ?? "");
      else if (message.channel === options.channel) options.onNotification(message.payload ?? "");
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${echoChannel}`);
      await next.query(`LISTEN ${options.channel}`);
      if (closed) {
        await next.end().catch(() => {});
        return;
      }
      failures = 0;
      scheduleEcho(0);
    } catch (error) {
      onLost(error as Error);
    }
  };

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(echoTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
