import { FILTER_FIELDS, type SortDirection, type SortKey } from "../../db/listing-query.ts";
import { invalid, showChar } from "./lexer.ts";
import { filterField } from "./parser.ts";

/** The fields a user has in API output, which is what `$select` picks from. */
export const SELECT_FIELDS = [
  "id",
  "email",
  "username",
  "firstName",
  "lastName",
  "status",
  "role",
  "emailVerified",
  "createdAt",
  "updatedAt",
  "lastLoginAt",
] as const;
export type SelectField = (typeof SELECT_FIELDS)[number];

const MAX_ORDER_FIELDS = 3;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * Parses `$orderby` ("lastName desc, createdAt"). `id` is appended when absent so the order is
 * total, which keyset pagination needs to neither repeat nor skip rows.
 */
export function parseOrderBy(text: string): SortKey[] {
  const items = scanList(
    text,
    { param: "$orderby", directions: true, max: MAX_ORDER_FIELDS },
    filterField,
  );
  const keys = items.map(
    ({ field, direction }): SortKey => ({ field, column: FILTER_FIELDS[field].column, direction }),
  );
  if (!keys.some((key) => key.field === "id")) {
    keys.push({ field: "id", column: "id", direction: "asc" });
  }
  return keys;
}

/** Parses `$select` ("id,email,lastName"): a non-empty subset of SELECT_FIELDS. */
export function parseSelect(text: string): SelectField[] {
  const options = { param: "$select", directions: false, max: SELECT_FIELDS.length };
  const items = scanList(text, options, (name) => SELECT_FIELDS.find((field) => field === name));
  return items.map((item) => item.field);
}

type ListOptions = { param: string; directions: boolean; max: number };

/**
 * Splits "name [asc|desc], …" into known, distinct fields. Each name is checked as soon as it
 * is read, so the first problem is the one reported and hostile input stops early.
 */
function scanList<F extends string>(
  text: string,
  { param, directions, max }: ListOptions,
  known: (name: string) => F | undefined,
): { field: F; direction: SortDirection }[] {
  const items: { field: F; direction: SortDirection }[] = [];
  let i = skipSpaces(text, 0);
  for (;;) {
    const name = wordAt(text, i);
    if (!name) throw invalid(i, `expected a field name${foundAt(text, i)}`, param);
    const field = known(name);
    if (!field) throw invalid(i, `unknown field '${name}'`, param);
    if (items.some((item) => item.field === field)) {
      throw invalid(i, `'${name}' appears more than once`, param);
    }
    if (items.length === max) throw invalid(i, `at most ${max} fields`, param);
    const item = { field, direction: "asc" as SortDirection };
    items.push(item);
    i = skipSpaces(text, i + name.length);
    const word = directions ? wordAt(text, i) : undefined;
    if (word) {
      const direction = word.toLowerCase();
      if (direction !== "asc" && direction !== "desc") {
        throw invalid(i, `expected 'asc' or 'desc' after '${name}', found '${word}'`, param);
      }
      item.direction = direction;
      i = skipSpaces(text, i + word.length);
    }
    if (i >= text.length) return items;
    if (text.charAt(i) !== ",") {
      const expected = directions ? "'asc', 'desc', ',' or the end" : "',' or the end";
      throw invalid(i, `expected ${expected}${foundAt(text, i)}`, param);
    }
    i = skipSpaces(text, i + 1);
  }
}

function wordAt(text: string, i: number): string | undefined {
  NAME.lastIndex = i;
  return NAME.exec(text)?.[0];
}

function skipSpaces(text: string, i: number): number {
  let at = i;
  while (at < text.length && /\s/.test(text.charAt(at))) at++;
  return at;
}

function foundAt(text: string, i: number): string {
  return i >= text.length ? "" : `, found ${showChar(text, i)}`;
}
