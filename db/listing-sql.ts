import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Database } from "./database.ts";
import {
  FILTER_FIELDS,
  type FilterAst,
  type FilterField,
  type FilterValue,
} from "./listing-query.ts";

type UsersEb = ExpressionBuilder<Database, "users">;

const SQL_OPS = { eq: "=", ne: "<>", gt: ">", ge: ">=", lt: "<", le: "<=" } as const;
const LIKE_PATTERNS = {
  contains: (v: string) => `%${v}%`,
  startswith: (v: string) => `${v}%`,
  endswith: (v: string) => `%${v}`,
} as const;

/**
 * Turns a parsed filter into a Kysely condition on `users`. Values only ever travel as bound
 * parameters and columns only come from FILTER_FIELDS.
 */
export function filterToSql(ast: FilterAst, eb: UsersEb): Expression<SqlBool> {
  switch (ast.kind) {
    case "and":
      return eb.and(ast.items.map((item) => filterToSql(item, eb)));
    case "or":
      return eb.or(ast.items.map((item) => filterToSql(item, eb)));
    case "not":
      return eb.not(eb.parens(filterToSql(ast.item, eb)));
    case "compare":
      if (ast.value === null) {
        return eb(eb.ref(column(ast.field)), ast.op === "eq" ? "is" : "is not", null);
      }
      return eb(left(ast.field, eb), SQL_OPS[ast.op], right(ast.field, ast.value, eb));
    case "in":
      return eb(
        left(ast.field, eb),
        "in",
        ast.values.map((value) => right(ast.field, value, eb)),
      );
    case "match": {
      const pattern = LIKE_PATTERNS[ast.fn](ast.value.replace(/[\\%_]/g, "\\$&"));
      return sql<SqlBool>`${left(ast.field, eb)} like lower(${pattern}) escape '\\'`;
    }
  }
}

function column(field: FilterField) {
  return FILTER_FIELDS[field].column;
}

/**
 * Text is compared as lower(column) against lower(value): case-insensitive, and able to use an
 * index on lower(column). The value is lowered by the database rather than in JavaScript so both
 * sides follow the same Unicode rules.
 */
function left(field: FilterField, eb: UsersEb): Expression<unknown> {
  const ref = eb.ref(column(field));
  return FILTER_FIELDS[field].type === "text" ? eb.fn("lower", [ref]) : ref;
}

function right(field: FilterField, value: FilterValue, eb: UsersEb) {
  switch (FILTER_FIELDS[field].type) {
    case "text":
      return eb.fn("lower", [eb.val(value)]);
    case "datetime":
      // Sent as text and cast, so fractional seconds finer than JavaScript's milliseconds count.
      return eb.cast(eb.val(value), "timestamptz");
    default:
      return eb.val(value);
  }
}
