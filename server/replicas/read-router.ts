import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { type Listener, listen } from "../../db/listener.ts";
import {
  announceWrite,
  CALLER_WROTE_CHANNEL,
  type ServerPosition,
  serverPosition,
} from "../../db/replication.ts";
import { setBounded } from "../limits/bounded-map.ts";
import { LagClock } from "./lag-clock.ts";

/** At most this many callers' recent writes are remembered; past it the oldest go (→ primary). */
const MAX_PENDING = 50_000;

/** How long a write's answer waits for this process to hear its own announcement. */
const OWN_ECHO_WAIT_MS = 250;

/** A position no replica reaches: the caller reads the primary until the entry expires. */
const UNREPLAYABLE = 2n ** 64n;

/** Why a read went where it did (a metric's label). */
export type ReadReason =
  | "replica"
  | "channel_deaf"
  | "replicas_skipped"
  | "own_write"
  | "replica_failed";

/** Why a replica was skipped at a health check (a metric's label). */
export type SkipReason = "down" | "lagging" | "not_a_replica";

export type ReplicaStatus = {
  /** `replica-1`, … in DATABASE_REPLICA_URLS order (never the URL: it may hold a password). */
  name: string;
  usable: boolean;
  /** Estimated replay lag at the last check; Infinity when unknown or down. */
  lagMs: number;
  skipped: Record<SkipReason, number>;
  /** Health checks made so far. */
  checks: number;
};

/** Where one read goes; `replica` is set when it is one (so a failure can fall back). */
export type ReadChoice = { db: Kysely<Database>; replica?: string };

export type ReadRouter = {
  /** Where an authenticated caller's read goes now (see createReadRouter). */
  choose(callerId: number): ReadChoice;
  /** A read on `replica` failed on the server's side: skip it until its next good check. */
  replicaFailed(replica: string): void;
  /** The caller wrote on the primary: their reads stay there until the replicas replayed it. */
  wrote(callerId: number): Promise<void>;
  /** Whether any replica is configured (else every read is the primary's, nothing is counted). */
  readonly enabled: boolean;
  /** Reads routed, by reason; and each replica's state (metrics). */
  readonly routed: Record<ReadReason, number>;
  replicas(): ReplicaStatus[];
  close(): Promise<void>;
};

export type ReplicaDatabase = {
  name: string;
  /** What reads use. */
  db: Kysely<Database>;
  /** What health checks use: the same pool, not counted as reads (see server/deps.ts). */
  health: Kysely<Database>;
};

export type ReadRouterOptions = {
  primary: Kysely<Database>;
  replicas: ReplicaDatabase[];
  /** Where the caller-wrote LISTEN connects (a direct session); without it, no replica is used. */
  listenUrl: string | undefined;
  maxLagMs: number;
  checkEveryMs: number;
  log: Pick<FastifyBaseLogger, "warn" | "info">;
};

type Replica = ReplicaDatabase & {
  usable: boolean;
  /** Replayed position at the last good check (a replica is chosen for a caller only past theirs). */
  lsn: bigint;
  lagMs: number;
  skipped: Record<SkipReason, number>;
  lastReason: SkipReason | undefined;
  checks: number;
  /** The check still waiting for an answer (a hung replica is not asked again meanwhile). */
  asking: Promise<ServerPosition> | undefined;
};

/**
 * Chooses, per read, the primary or a replica, in one place (the procedure kit asks it for each
 * authenticated query; authentication itself always reads the primary or the auth memory):
 * - a replica is used only while its last health check (every `checkEveryMs`, never per
 *   request) found it up, of the primary's cluster, and less than `maxLagMs` behind;
 * - a caller who wrote (any process: `<callerId>:<lsn>` is NOTIFYed on CALLER_WROTE_CHANNEL)
 *   reads only replicas that replayed that position, else the primary; remembered for
 *   `maxLagMs` + 2 checks, after which a replica still behind it counts as lagging anyway;
 * - while this process may have missed a notification (the LISTEN channel does not echo, or has
 *   not yet), every read is the primary's; once it hears, replicas must first replay the
 *   primary's position of that moment (a write made meanwhile elsewhere is before it).
 */
export function createReadRouter(options: ReadRouterOptions): ReadRouter {
  const { primary, maxLagMs, checkEveryMs } = options;
  const routed: Record<ReadReason, number> = {
    replica: 0,
    channel_deaf: 0,
    replicas_skipped: 0,
    own_write: 0,
    replica_failed: 0,
  };
  const replicas: Replica[] = options.replicas.map((replica) => ({
    ...replica,
    usable: false,
    lsn: 0n,
    lagMs: Number.POSITIVE_INFINITY,
    skipped: { down: 0, lagging: 0, not_a_replica: 0 },
    lastReason: undefined,
    checks: 0,
    asking: undefined,
  }));
  const pending = new Map<number, { lsn: bigint; until: number }>();
  const clock = new LagClock(maxLagMs * 2 + checkEveryMs);
  const rememberMs = maxLagMs + 2 * checkEveryMs;
  let heardSince: number | undefined;
  /** The primary's position when the channel was (again) heard; undefined until measured. */
  let floor: bigint | undefined;
  let next = 0;
  let closed = false;
  /** Until then a replica found lagging is not worth a warning: the first checks lack history. */
  const quietUntil = performance.now() + maxLagMs;

  const noteWrite = (callerId: number, lsn: bigint) => {
    const known = pending.get(callerId);
    const at = performance.now();
    clock.sample(lsn, at);
    if (known && known.lsn > lsn) return;
    setBounded(pending, callerId, { lsn, until: at + rememberMs }, MAX_PENDING);
  };

  /** Writes of this process waiting to hear their own announcement (see `wrote`). */
  const heardBack = new Map<string, () => void>();
  const hearOwn = (payload: string) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, OWN_ECHO_WAIT_MS);
      function done() {
        clearTimeout(timer);
        heardBack.delete(payload);
        resolve();
      }
      heardBack.set(payload, done);
    });

  let listener: Listener | undefined;
  if (replicas.length > 0 && options.listenUrl) {
    listener = listen({
      databaseUrl: options.listenUrl,
      db: primary,
      channel: CALLER_WROTE_CHANNEL,
      log: options.log,
      whileDeaf: "every read goes to the primary, none to the read replicas,",
      onNotification: (payload) => {
        heardBack.get(payload)?.();
        const [caller, lsn] = payload.split(":");
        const callerId = Number(caller);
        if (!Number.isSafeInteger(callerId) || !lsn) return;
        try {
          noteWrite(callerId, BigInt(lsn));
        } catch {
          // not ours
        }
      },
      onListening: () => {
        heardSince = performance.now();
        floor = undefined;
      },
      onLost: () => {
        heardSince = undefined;
        floor = undefined;
      },
    });
  }

  const skip = (replica: Replica, reason: SkipReason) => {
    if (replica.lastReason !== reason && (reason !== "lagging" || performance.now() > quietUntil)) {
      options.log.warn({ replica: replica.name, reason }, "read replica skipped");
    }
    replica.usable = false;
    replica.lastReason = reason;
    replica.skipped[reason] += 1;
  };

  const checkReplica = async (replica: Replica, main: ServerPosition, at: number) => {
    let position: ServerPosition;
    try {
      replica.asking ??= serverPosition(replica.health).finally(() => {
        replica.asking = undefined;
      });
      position = await withinMs(replica.asking, Math.max(checkEveryMs, 1000));
    } catch {
      replica.checks += 1;
      replica.lagMs = Number.POSITIVE_INFINITY;
      return skip(replica, "down");
    }
    // Another cluster, or a promoted (diverging) copy: its answers are not the primary's. The
    // primary itself under another URL (same cluster, not recovering, same start) is in step.
    const samePrimary = !position.inRecovery && position.startedAt === main.startedAt;
    if (
      position.systemId !== main.systemId ||
      position.database !== main.database ||
      !(position.inRecovery || samePrimary)
    ) {
      replica.checks += 1;
      return skip(replica, "not_a_replica");
    }
    replica.checks += 1;
    replica.lsn = position.lsn;
    replica.lagMs = position.lsn >= main.lsn ? 0 : clock.lagMs(position.lsn, at);
    if (replica.lagMs > maxLagMs) return skip(replica, "lagging");
    if (!replica.usable && replica.lastReason) {
      options.log.info({ replica: replica.name }, "read replica in use again");
    }
    replica.usable = true;
    replica.lastReason = undefined;
  };

  const check = async () => {
    const startedAt = performance.now();
    let main: ServerPosition;
    try {
      main = await serverPosition(primary);
    } catch {
      return; // the primary is unreachable: nothing is served anyway
    }
    const at = performance.now();
    clock.sample(main.lsn, at);
    if (heardSince !== undefined && heardSince <= startedAt && floor === undefined) {
      floor = main.lsn;
    }
    await Promise.all(replicas.map((replica) => checkReplica(replica, main, at)));
    for (const [callerId, write] of pending) {
      if (write.until < at || replicas.every((replica) => replica.lsn >= write.lsn)) {
        pending.delete(callerId);
      }
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const schedule = (delayMs: number) => {
    if (closed) return;
    timer = setTimeout(() => {
      running = check().finally(() => {
        running = undefined;
        schedule(checkEveryMs);
      });
    }, delayMs);
    timer.unref();
  };
  if (replicas.length > 0) schedule(0);

  const choose = (callerId: number): ReadChoice => {
    if (heardSince === undefined || floor === undefined) {
      routed.channel_deaf += 1;
      return { db: primary };
    }
    const up = replicas.filter((replica) => replica.usable && replica.lsn >= (floor ?? 0n));
    if (up.length === 0) {
      routed.replicas_skipped += 1;
      return { db: primary };
    }
    const write = pending.get(callerId);
    let candidates = up;
    if (write) {
      if (write.until < performance.now()) pending.delete(callerId);
      else candidates = up.filter((replica) => replica.lsn >= write.lsn);
    }
    if (candidates.length === 0) {
      routed.own_write += 1;
      return { db: primary };
    }
    next = (next + 1) % candidates.length;
    const replica = candidates[next] as Replica;
    routed.replica += 1;
    return { db: replica.db, replica: replica.name };
  };

  if (replicas.length === 0) {
    return {
      choose: () => ({ db: primary }),
      replicaFailed: () => {},
      wrote: async () => {},
      enabled: false,
      routed,
      replicas: () => [],
      close: async () => {},
    };
  }
  return {
    choose,
    replicaFailed(name) {
      routed.replica_failed += 1;
      const replica = replicas.find((candidate) => candidate.name === name);
      if (replica?.usable) skip(replica, "down");
    },
    async wrote(callerId) {
      try {
        const lsn = await announceWrite(primary, callerId);
        noteWrite(callerId, lsn);
        // PostgreSQL tells every listener at once: once this process hears its announcement,
        // the others have been told too, before the caller can ask one of them anything.
        if (heardSince !== undefined) await hearOwn(`${callerId}:${lsn}`);
      } catch {
        // Not announced (the primary is unreachable now): at least this process keeps the
        // caller on the primary for the whole bound; others have nothing to read from anyway.
        const until = performance.now() + rememberMs;
        setBounded(pending, callerId, { lsn: UNREPLAYABLE, until }, MAX_PENDING);
      }
    },
    enabled: true,
    routed,
    replicas: () =>
      replicas.map(({ name, usable, lagMs, skipped, checks }) => ({
        name,
        usable,
        lagMs,
        skipped: { ...skipped },
        checks,
      })),
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      await listener?.close();
    },
  };
}

/** `promise`, or a rejection once `ms` passed (a hung replica counts as down). */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
