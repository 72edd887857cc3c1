import type { FastifyBaseLogger } from "fastify";
import pg from "pg";

export type Listener = { close(): Promise<void> };

type ListenOptions = {
  databaseUrl: string;
  channel: string;
  log: Pick<FastifyBaseLogger, "warn">;
  /** A NOTIFY on the channel arrived, with its payload. */
  onNotification: (payload: string) => void;
  /** LISTEN is in place (again): notifications sent while nobody listened are lost. */
  onListening: () => void;
  /** The connection dropped; notifications are missed until `onListening` runs again. */
  onLost?: () => void;
};

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel. When it drops it reconnects
 * (1 s, 2 s, … up to 30 s apart) and says so on both edges, so callers can make up for the
 * notifications they missed.
 */
export function listen(options: ListenOptions): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;

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
      options.onLost?.();
      options.log.warn(
        { channel: options.channel, error: error?.message ?? "connection ended" },
        "LISTEN connection lost",
      );
      reconnectLater();
    };
    next.on("error", onLost);
    next.on("end", () => onLost());
    next.on("notification", (message) => {
      if (message.channel === options.channel) options.onNotification(message.payload ?? "");
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${options.channel}`);
      if (closed) {
        await next.end().catch(() => {});
        return;
      }
      failures = 0;
      options.onListening();
    } catch (error) {
      onLost(error as Error);
    }
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
