import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { AUTH_STATE_CHANNEL, type AuthState, onAuthStateChanged } from "../../db/auth-state.ts";
import type { Database } from "../../db/database.ts";
import { type Listener, listen } from "../../db/listener.ts";
import { setBounded } from "../limits/bounded-map.ts";

/** At most this many sessions' states are kept; the oldest go first. */
const MAX_ENTRIES = 10_000;

export type AuthStateCache = {
  /** The session's state from memory when fresh, else from `load` (kept when safe to). */
  read(
    userId: number,
    sessionId: number,
    load: () => Promise<AuthState | undefined>,
  ): Promise<AuthState | undefined>;
  /** Reads answered from memory (hits) and from the database (misses) since start. */
  readonly reads: { hits: number; misses: number };
  /** Whether memory is trusted now: the LISTEN connection hears its echo (see db/listener.ts). */
  trusted(): boolean;
  close(): Promise<void>;
};

type Entry = { state: AuthState; storedAt: number };

/**
 * Callers' auth state (role, status, token version, session) kept in memory for a short while,
 * so most requests skip the per-request lookup while "cut off at once" still holds:
 * - this process's own changes drop the user's entries as soon as the write returns
 *   (`authStateChanged` in db/users.ts and db/sessions.ts);
 * - every other change, from any process, arrives as NOTIFY auth_state from the database's
 *   trigger at commit and drops them here too;
 * - a load that raced a change is not kept (the change counter moved meanwhile);
 * - nothing is kept unless the LISTEN connection hears its own echo (db/listener.ts): without
 *   one, through a transaction-mode pooler, or while the echo is late, every read goes to the
 *   database; hearing again empties the cache, since notifications sent meanwhile are lost;
 *   `ttlSeconds` bounds what is left.
 */
export function createAuthStateCache(options: {
  /** Whose in-process change signals drop entries (see db/auth-state.ts). */
  db: Kysely<Database>;
  /** Where the LISTEN connection goes (PostgreSQL only; the same database as `db`). */
  listenUrl: string | undefined;
  ttlSeconds: number;
  log: Pick<FastifyBaseLogger, "warn" | "info">;
}): AuthStateCache {
  const entries = new Map<number, Entry>();
  const ttlMs = options.ttlSeconds * 1000;
  let changes = 0;
  let listening = false;
  const reads = { hits: 0, misses: 0 };

  const forgetUser = (userId: number) => {
    changes += 1;
    for (const [sessionId, entry] of entries) {
      if (entry.state.id === userId) entries.delete(sessionId);
    }
  };
  const forgetAll = () => {
    changes += 1;
    entries.clear();
  };

  const unsubscribe = onAuthStateChanged(options.db, forgetUser);
  let listener: Listener | undefined;
  if (options.listenUrl && ttlMs > 0) {
    listener = listen({
      databaseUrl: options.listenUrl,
      db: options.db,
      channel: AUTH_STATE_CHANNEL,
      log: options.log,
      onNotification: (payload) => {
        const userId = Number(payload);
        if (Number.isSafeInteger(userId)) forgetUser(userId);
        else forgetAll();
      },
      onListening: () => {
        forgetAll();
        listening = true;
      },
      onLost: () => {
        listening = false;
        forgetAll();
      },
    });
  }

  return {
    async read(userId, sessionId, load) {
      const entry = entries.get(sessionId);
      if (entry && entry.state.id === userId && performance.now() - entry.storedAt < ttlMs) {
        reads.hits += 1;
        return entry.state;
      }
      reads.misses += 1;
      const before = changes;
      const state = await load();
      if (state && listening && changes === before) {
        setBounded(entries, sessionId, { state, storedAt: performance.now() }, MAX_ENTRIES);
      }
      return state;
    },
    reads,
    trusted: () => listening,
    async close() {
      unsubscribe();
      listening = false;
      entries.clear();
      await listener?.close();
    },
  };
}
