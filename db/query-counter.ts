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

/** Counts the queries made through a Kysely instance (and its transactions): a metric. */
export class QueryCounterPlugin implements KyselyPlugin {
  count = 0;

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count += 1;
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** `db`, counting its queries on `counter` (the same connections, events and transactions). */
export function counted(db: Kysely<Database>, counter: QueryCounterPlugin): Kysely<Database> {
  return db.withPlugin(counter);
}
