import { EventEmitter } from "node:events";
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";
import type { Database } from "./database.ts";

/** What a write tells this process at once, beside what the database tells every process. */
type DatabaseEventMap = {
  /** A user's auth state changed (payload: the user id); see auth-state.ts. */
  authStateChanged: [userId: number];
  /** A mail was queued; see mail-outbox.ts. */
  mailQueued: [];
  /** Webhook deliveries were queued; see events.ts. */
  webhooksQueued: [];
};

export type DatabaseEvents = EventEmitter<DatabaseEventMap>;

/**
 * Carries one database's in-process events on its Kysely instance. Kysely hands its plugins to
 * every transaction and connection made from the instance, so a query function that is given
 * `db` (or a transaction of it) reaches the events of that very database, with no extra
 * parameter and no module state: two services in one process (tests) never hear each other.
 * Queries and results pass through untouched.
 */
export class DatabaseEventsPlugin implements KyselyPlugin {
  readonly events: DatabaseEvents = new EventEmitter<DatabaseEventMap>();

  constructor() {
    // Every auth-state cache and mail worker on this database listens: no leak warning at 11.
    this.events.setMaxListeners(0);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The events of the database `db` belongs to (made by openDatabase, or given the plugin). */
export function databaseEvents(db: Kysely<Database>): DatabaseEvents {
  const plugin = db.getExecutor().plugins.find((p) => p instanceof DatabaseEventsPlugin);
  if (!plugin)
    throw new Error("This Kysely instance has no DatabaseEventsPlugin (see openDatabase)");
  return (plugin as DatabaseEventsPlugin).events;
}
