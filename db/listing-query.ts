import { ROLES, STATUSES } from "./database.ts";

// A users listing as the SQL builder (listing-sql.ts, user-list.ts) takes it: already parsed and
// checked by the listing language in server/listing/, which produces these shapes.

export type FieldType = "int" | "text" | "enum" | "bool" | "datetime";

/**
 * The only names a filter or ordering can use, with the column each maps to. Nothing else of the
 * users table (password_hash, token_version, deleted_at) can ever be named.
 */
export const FILTER_FIELDS = {
  id: { column: "id", type: "int" },
  email: { column: "email", type: "text" },
  username: { column: "username", type: "text" },
  firstName: { column: "first_name", type: "text" },
  lastName: { column: "last_name", type: "text" },
  status: { column: "status", type: "enum", values: STATUSES },
  role: { column: "role", type: "enum", values: ROLES },
  emailVerified: { column: "email_verified", type: "bool" },
  createdAt: { column: "created_at", type: "datetime" },
  updatedAt: { column: "updated_at", type: "datetime" },
} as const satisfies Record<
  string,
  { column: string; type: FieldType; values?: readonly string[] }
>;

export type FilterField = keyof typeof FILTER_FIELDS;
export type FilterColumn = (typeof FILTER_FIELDS)[FilterField]["column"];

export type CompareOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
export type MatchFunction = "contains" | "startswith" | "endswith";
/**
 * A literal already checked against its field: a number for id, text for text and enum fields
 * (enum values in their canonical spelling), a boolean, or RFC 3339 text for date-times.
 */
export type FilterValue = string | number | boolean;

export type FilterAst =
  | { kind: "and" | "or"; items: FilterAst[] }
  | { kind: "not"; item: FilterAst }
  | { kind: "compare"; op: CompareOp; field: FilterField; value: FilterValue | null }
  | { kind: "in"; field: FilterField; values: FilterValue[] }
  | { kind: "match"; fn: MatchFunction; field: FilterField; value: string };

export type SortDirection = "asc" | "desc";
export type SortKey = { field: FilterField; column: FilterColumn; direction: SortDirection };

/** One order column's value in the last row of a page; date-times as PostgreSQL's exact text. */
export type CursorValue = string | number | boolean;
/** Each order key with the last row's value for it: where the next page starts. */
export type CursorPosition = { key: SortKey; value: CursorValue }[];
