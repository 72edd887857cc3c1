import { type Compilable, type CompiledQuery, createQueryId, type Kysely } from "kysely";
import type { Database } from "./database.ts";

/** Where an argument goes in a query compiled once: its index among the arguments. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A query of fixed shape built and compiled to SQL once (per dialect) instead of on every call:
 * each later call only puts its arguments in the parameter list and runs the same SQL. Building
 * and compiling a Kysely query costs more CPU than its round trip's driver work on the hot path
 * (authentication, a user by id).
 *
 * `build` must give the same SQL whatever the arguments: it may only hand them to Kysely as
 * values (`where("id", "=", id)`), never branch on them, transform them or put them in the SQL
 * text. It is called once with stand-ins; a stand-in that does not reach the parameter list as
 * is (it was transformed, or not used) is an error at that first call.
 */
export function compiledOnce<Args extends unknown[], Row>(
  build: (db: Kysely<Database>, ...args: Args) => Compilable<Row>,
): (db: Kysely<Database>, ...args: Args) => Promise<Row[]> {
  // By the adapter (one per dialect, shared by its transactions): PGlite and PostgreSQL may
  // compile differently one day; today both compile to the same PostgreSQL SQL.
  const templates = new WeakMap<object, CompiledQuery<Row>>();
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter;
    let template = templates.get(adapter);
    if (!template) {
      template = compileWithSlots(db, build, args.length);
      templates.set(adapter, template);
    }
    const parameters = template.parameters.map((p) => (p instanceof Slot ? args[p.index] : p));
    // A query id of its own, as each built query has (plugins may keep state per query).
    const result = await db.executeQuery<Row>({
      ...template,
      parameters,
      queryId: createQueryId(),
    });
    return result.rows;
  };
}

function compileWithSlots<Args extends unknown[], Row>(
  db: Kysely<Database>,
  build: (db: Kysely<Database>, ...args: Args) => Compilable<Row>,
  arity: number,
): CompiledQuery<Row> {
  const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
  const compiled = build(db, ...(slots as unknown as Args)).compile();
  for (const slot of slots) {
    if (compiled.parameters.filter((p) => p === slot).length !== 1) {
      throw new Error(
        `compiledOnce: argument ${slot.index} must reach the query once, as a value: ${compiled.sql}`,
      );
    }
  }
  return compiled;
}
