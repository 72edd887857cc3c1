import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { findUserPage, type UsersCondition } from "../../db/user-list.ts";
import type { PublicUserRow } from "../../db/users.ts";
import { AppError } from "../errors/api-errors.ts";
import { type CursorKey, decodeCursor, encodeCursor } from "./cursor.ts";
import { parseOrderBy, parseSelect, type SelectField } from "./order-select.ts";
import { filterMentionsDeleted, parseFilter } from "./parser.ts";

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
  visibility?: UsersCondition | undefined;
  /** Admins may see soft-deleted users when their filter asks for status eq 'deleted'. */
  mayIncludeDeleted: boolean;
};

export type UserPage = {
  rows: PublicUserRow[];
  /** Everything that matches, before skip and top; on pages after the first, as of the first. */
  count: number;
  /** Present when more rows follow; continues after the last row of this page. */
  nextCursor?: string;
  /** The parsed `$select`, when one was given. */
  select?: SelectField[];
};

/**
 * A page of users from the listing parameters as the caller wrote them: every parameter is parsed
 * and checked here (the first problem is the 400), then db/user-list.ts runs the query.
 */
export async function listUsers(db: Kysely<Database>, o: ListUsersOptions): Promise<UserPage> {
  if (!isCount(o.top) || !isCount(o.skip)) {
    throw new AppError("VALIDATION_ERROR", "$top and $skip must be non-negative integers");
  }
  // Parsed as written so error positions match the caller's text; blank means no filter.
  const filter = o.filter?.trim() ? parseFilter(o.filter) : undefined;
  const order = parseOrderBy(o.orderby ?? "id");
  const select = o.select === undefined ? undefined : parseSelect(o.select);
  const scope = { order, filter: o.filter ?? "" };
  const cursor = o.cursor === undefined ? undefined : decodeCursor(o.cursor, scope, o.cursorKey);
  const page = await findUserPage(db, {
    filter,
    order,
    after: cursor?.position,
    knownCount: cursor?.count,
    top: o.top,
    skip: o.skip,
    visibility: o.visibility,
    includeDeleted: o.mayIncludeDeleted && filter !== undefined && filterMentionsDeleted(filter),
  });
  return {
    rows: page.rows,
    count: page.count,
    ...(page.next !== undefined && {
      nextCursor: encodeCursor(scope, { values: page.next, count: page.count }, o.cursorKey),
    }),
    ...(select !== undefined && { select }),
  };
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
