import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  type SqlBool,
  sql,
} from "kysely";
import { AppError } from "../server/errors/api-errors.ts";
import {
  type CursorKey,
  type CursorPosition,
  type CursorValue,
  decodeCursor,
  encodeCursor,
} from "../server/listing/cursor.ts";
import {
  parseOrderBy,
  parseSelect,
  type SelectField,
  type SortKey,
} from "../server/listing/order-select.ts";
import { FILTER_FIELDS, filterMentionsDeleted, parseFilter } from "../server/listing/parser.ts";
import type { Database, UsersTable } from "./database.ts";
import { filterToSql } from "./listing-sql.ts";

type UsersEb = ExpressionBuilder<Database, "users">;

/** The columns a listing returns; never password_hash, token_version or deleted_at. */
export const PUBLIC_USER_COLUMNS = [
  "id",
  "email",
  "username",
  "first_name",
  "last_name",
  "role",
  "status",
  "email_verified",
  "last_login_at",
  "created_at",
  "updated_at",
] as const;
export type PublicUserRow = Pick<Selectable<UsersTable>, (typeof PUBLIC_USER_COLUMNS)[number]>;

export type ListUsersOptions = {
  filter?: string | undefined;
  orderby?: string | undefined;
  /** `$select`; checked here so all listing errors come from one place, applied by the caller. */
  select?: string | undefined;
  top: number;
  skip: number;
  cursor?: string | undefined;
  cursorKey: CursorKey;
  /** Visibility of the caller, ANDed with everything; undefined = sees all. */
  visibility?: ((eb: UsersEb) => Expression<SqlBool>) | undefined;
  /** Admins may see soft-deleted users when their filter asks for status eq 'deleted'. */
  mayIncludeDeleted: boolean;
};

export type UserPage = {
  rows: PublicUserRow[];
  /** Everything that matches, before skip and top. */
  count: number;
  /** Present when more rows follow; continues after the last row of this page. */
  nextCursor?: string;
  /** The parsed `$select`, when one was given. */
  select?: SelectField[];
};

export async function listUsers(db: Kysely<Database>, o: ListUsersOptions): Promise<UserPage> {
  if (!isCount(o.top) || !isCount(o.skip)) {
    throw new AppError("VALIDATION_ERROR", "$top and $skip must be non-negative integers");
  }
  // Parsed as written so error positions match the caller's text; blank means no filter.
  const ast = o.filter?.trim() ? parseFilter(o.filter) : undefined;
  const order = parseOrderBy(o.orderby ?? "id");
  const select = o.select === undefined ? undefined : parseSelect(o.select);
  const scope = { order, filter: o.filter ?? "" };
  const after = o.cursor === undefined ? undefined : decodeCursor(o.cursor, scope, o.cursorKey);
  const includeDeleted = o.mayIncludeDeleted && ast !== undefined && filterMentionsDeleted(ast);

  const matching = (eb: UsersEb) => {
    const conditions: Expression<SqlBool>[] = [];
    // Parenthesized so a visibility written as raw `a or b` cannot leak past the AND.
    if (o.visibility) conditions.push(eb.parens(o.visibility(eb)));
    if (ast) conditions.push(filterToSql(ast, eb));
    if (!includeDeleted) conditions.push(eb("deleted_at", "is", null));
    return eb.and(conditions);
  };

  const { count } = await db
    .selectFrom("users")
    .select(sql<number>`count(*)::int`.as("count"))
    .where(matching)
    .executeTakeFirstOrThrow();

  // One row more than asked tells whether another page follows.
  let query = db
    .selectFrom("users")
    .select(PUBLIC_USER_COLUMNS)
    .select(cursorValues(order).as("cursor_values"))
    .where(matching)
    .limit(o.top + 1);
  for (const key of order) query = query.orderBy(key.column, key.direction);
  // A cursor continues by keyset, which stays fast however deep; skip applies only without one.
  if (after) query = query.where((eb) => keysetAfter(eb, after));
  else if (o.skip > 0) query = query.offset(o.skip);
  const found = await query.execute();

  const rows = found.slice(0, o.top);
  const last = rows.at(-1);
  const nextCursor =
    found.length > o.top && last ? encodeCursor(scope, last.cursor_values, o.cursorKey) : undefined;
  return {
    rows: rows.map(({ cursor_values: _, ...row }) => row),
    count,
    ...(nextCursor !== undefined && { nextCursor }),
    ...(select !== undefined && { select }),
  };
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * The order columns of each row as JSON, which gives date-times as PostgreSQL's exact text
 * (microseconds included), so the cursor compares with the very value the row holds.
 */
function cursorValues(order: readonly SortKey[]) {
  return sql<CursorValue[]>`json_build_array(${sql.join(order.map((key) => sql.ref(key.column)))})`;
}

/**
 * Rows strictly after the cursor in the listing's order:
 * (a > x) or (a = x and b > y) or …, with `<` for descending keys. Spelled out rather than as a
 * row-value comparison because a row value cannot mix ascending and descending keys.
 */
function keysetAfter(eb: UsersEb, position: CursorPosition): Expression<SqlBool> {
  const operand = ({ key, value }: CursorPosition[number]) =>
    FILTER_FIELDS[key.field].type === "datetime"
      ? eb.cast<Date>(eb.val(value), "timestamptz")
      : eb.val(value);
  return eb.or(
    position.map((current, i) =>
      eb.and([
        ...position.slice(0, i).map((p) => eb(eb.ref(p.key.column), "=", operand(p))),
        eb(
          eb.ref(current.key.column),
          current.key.direction === "asc" ? ">" : "<",
          operand(current),
        ),
      ]),
    ),
  );
}
