import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import type { Database, UserStatus } from "./database.ts";
import {
  type CursorPosition,
  type CursorValue,
  FILTER_FIELDS,
  type FilterAst,
  type SortKey,
} from "./listing-query.ts";
import { filterToSql } from "./listing-sql.ts";
import { countLiveUsers } from "./live-user-counts.ts";
import { PUBLIC_USER_COLUMNS, type PublicUserRow } from "./users.ts";

type UsersEb = ExpressionBuilder<Database, "users">;

/** A condition on `users`, such as who the caller may see. */
export type UsersCondition = (eb: UsersEb) => Expression<SqlBool>;

/** One page of a users listing, as server/listing/ parsed and checked it. */
export type UserListQuery = {
  filter: FilterAst | undefined;
  /** Total (ends with id), which keyset pagination needs to neither repeat nor skip rows. */
  order: readonly SortKey[];
  /** Continue strictly after this row; `skip` applies only without it. */
  after: CursorPosition | undefined;
  top: number;
  skip: number;
  /** Visibility of the caller, ANDed with everything; undefined = sees all. */
  visibility: UsersCondition | undefined;
  /** Soft-deleted users are left out unless this is set. */
  includeDeleted: boolean;
  /** The count an earlier page of this listing took: reused, so later pages count nothing. */
  knownCount: number | undefined;
};

export type UserListRows = {
  rows: PublicUserRow[];
  /** Everything that matches, before skip and top. */
  count: number;
  /** The last row's order values, present when more rows follow: where the next page starts. */
  next?: CursorValue[];
};

export async function findUserPage(db: Kysely<Database>, q: UserListQuery): Promise<UserListRows> {
  const matching = (eb: UsersEb) => {
    const conditions: Expression<SqlBool>[] = [];
    // Parenthesized so a visibility written as raw `a or b` cannot leak past the AND.
    if (q.visibility) conditions.push(eb.parens(q.visibility(eb)));
    if (q.filter) conditions.push(filterToSql(q.filter, eb));
    if (!q.includeDeleted) conditions.push(eb("deleted_at", "is", null));
    return eb.and(conditions);
  };

  const count = q.knownCount ?? (await countMatching(db, q, matching));

  // One row more than asked tells whether another page follows.
  let query = db
    .selectFrom("users")
    .select(PUBLIC_USER_COLUMNS)
    .select(cursorValues(q.order).as("cursor_values"))
    .where(matching)
    .limit(q.top + 1);
  for (const key of q.order) query = query.orderBy(key.column, key.direction);
  // A cursor continues by keyset, which stays fast however deep; skip applies only without one.
  const { after } = q;
  if (after) query = query.where((eb) => keysetAfter(eb, after));
  else if (q.skip > 0) query = query.offset(q.skip);
  const found = await query.execute();

  const rows = found.slice(0, q.top);
  const last = rows.at(-1);
  return {
    rows: rows.map(({ cursor_values: _, ...row }) => row),
    count,
    ...(found.length > q.top && last && { next: last.cursor_values }),
  };
}

/**
 * Everything the listing matches. Live users in all statuses or in some (an unfiltered or
 * status-only listing by a caller who sees everyone) come from the trigger-kept counters, whose
 * cost does not grow with the table; anything else is counted.
 */
async function countMatching(
  db: Kysely<Database>,
  q: UserListQuery,
  matching: (eb: UsersEb) => Expression<SqlBool>,
): Promise<number> {
  const statuses = q.visibility || q.includeDeleted ? undefined : countedStatuses(q.filter);
  if (statuses) return countLiveUsers(db, statuses === "all" ? undefined : statuses);
  const { count } = await db
    .selectFrom("users")
    .select(sql<number>`count(*)::int`.as("count"))
    .where(matching)
    .executeTakeFirstOrThrow();
  return count;
}

/** The statuses a filter asks for when it asks for nothing else; undefined for any other filter. */
function countedStatuses(filter: FilterAst | undefined): UserStatus[] | "all" | undefined {
  if (!filter) return "all";
  if (filter.kind === "compare" && filter.field === "status" && filter.op === "eq") {
    return typeof filter.value === "string" ? [filter.value as UserStatus] : undefined;
  }
  if (filter.kind === "in" && filter.field === "status" && filter.values.length > 0) {
    return filter.values.map((value) => value as UserStatus);
  }
  return undefined;
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
