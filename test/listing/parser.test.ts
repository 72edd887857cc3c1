import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
} from "kysely";
import { describe, expect, it } from "vitest";
import type { Database } from "../../db/database.ts";
import { filterToSql } from "../../db/listing-sql.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { parseOrderBy, parseSelect } from "../../server/listing/order-select.ts";
import { FILTER_LIMITS, filterMentionsDeleted, parseFilter } from "../../server/listing/parser.ts";

/** The message of the INVALID_FILTER error `run` throws; fails on anything else. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).apiCode).toBe("INVALID_FILTER");
    return (error as AppError).message;
  }
  throw new Error("expected an INVALID_FILTER error");
}

const filterError = (text: string) => errorOf(() => parseFilter(text));
const cmp = (field: string, op: string, value: unknown) => ({ kind: "compare", op, field, value });

// Compiles without a database, to check the SQL text and its parameters.
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function toSql(filter: string) {
  const ast = parseFilter(filter);
  const { sql, parameters } = compiler
    .selectFrom("users")
    .select("id")
    .where((eb) => filterToSql(ast, eb))
    .compile();
  return { where: sql.replace('select "id" from "users" where ', ""), parameters };
}

describe("parseFilter: operators and literals", () => {
  it.each(["eq", "ne", "gt", "ge", "lt", "le"])("parses %s", (op) => {
    expect(parseFilter(`id ${op} 5`)).toEqual(cmp("id", op, 5));
  });

  it("parses in lists", () => {
    expect(parseFilter("id in (1, 2,3)")).toEqual({ kind: "in", field: "id", values: [1, 2, 3] });
    expect(parseFilter("lastName in ('a')")).toEqual({
      kind: "in",
      field: "lastName",
      values: ["a"],
    });
  });

  it.each([
    ["contains", "contains"],
    ["startswith", "startswith"],
    ["endswith", "endswith"],
    ["startsWith", "startswith"],
    ["ENDSWITH", "endswith"],
  ])("parses %s(field, 'x')", (written, fn) => {
    expect(parseFilter(`${written}(email, 'x')`)).toEqual({
      kind: "match",
      fn,
      field: "email",
      value: "x",
    });
  });

  it("accepts tolower/toupper on the left side and inside matching functions", () => {
    expect(parseFilter("tolower(lastName) eq 'smith'")).toEqual(cmp("lastName", "eq", "smith"));
    expect(parseFilter("toUpper(firstName) in ('A')")).toEqual({
      kind: "in",
      field: "firstName",
      values: ["A"],
    });
    expect(parseFilter("contains(tolower(email), 'x')")).toMatchObject({ field: "email" });
  });

  it("reads strings with '' as an escaped quote", () => {
    expect(parseFilter("lastName eq 'O''Brien'")).toEqual(cmp("lastName", "eq", "O'Brien"));
    expect(parseFilter("lastName eq ''''")).toEqual(cmp("lastName", "eq", "'"));
    expect(parseFilter("lastName eq ''")).toEqual(cmp("lastName", "eq", ""));
    expect(parseFilter("lastName eq 'a b%_\\'")).toEqual(cmp("lastName", "eq", "a b%_\\"));
  });

  it("reads integers, booleans and null", () => {
    expect(parseFilter("id ge -3")).toEqual(cmp("id", "ge", -3));
    expect(parseFilter("emailVerified eq true")).toEqual(cmp("emailVerified", "eq", true));
    expect(parseFilter("emailVerified ne FALSE")).toEqual(cmp("emailVerified", "ne", false));
    expect(parseFilter("email eq null")).toEqual(cmp("email", "eq", null));
    expect(parseFilter("createdAt ne Null")).toEqual(cmp("createdAt", "ne", null));
  });

  it("reads RFC 3339 date-times and dates", () => {
    expect(parseFilter("createdAt gt 2026-01-02T03:04:05Z")).toEqual(
      cmp("createdAt", "gt", "2026-01-02T03:04:05Z"),
    );
    expect(parseFilter("updatedAt lt 2026-01-02T03:04:05.123456+02:00")).toEqual(
      cmp("updatedAt", "lt", "2026-01-02T03:04:05.123456+02:00"),
    );
    expect(parseFilter("createdAt le 2026-01-02t03:04z")).toEqual(
      cmp("createdAt", "le", "2026-01-02T03:04Z"),
    );
    // A bare date is midnight UTC.
    expect(parseFilter("createdAt ge 2024-02-29")).toEqual(
      cmp("createdAt", "ge", "2024-02-29T00:00:00Z"),
    );
  });

  it("checks enum values case-insensitively and keeps their canonical spelling", () => {
    expect(parseFilter("status eq 'ACTIVE'")).toEqual(cmp("status", "eq", "active"));
    expect(parseFilter("role in ('appadmin', 'User')")).toEqual({
      kind: "in",
      field: "role",
      values: ["AppAdmin", "User"],
    });
  });
});

describe("parseFilter: structure", () => {
  const a = cmp("id", "eq", 1);
  const b = cmp("id", "eq", 2);
  const c = cmp("id", "eq", 3);

  it("gives not precedence over and, and over or", () => {
    expect(parseFilter("id eq 1 or id eq 2 and id eq 3")).toEqual({
      kind: "or",
      items: [a, { kind: "and", items: [b, c] }],
    });
    expect(parseFilter("not id eq 1 and id eq 2")).toEqual({
      kind: "and",
      items: [{ kind: "not", item: a }, b],
    });
    expect(parseFilter("not id eq 1 or id eq 2")).toEqual({
      kind: "or",
      items: [{ kind: "not", item: a }, b],
    });
  });

  it("lets parentheses override precedence", () => {
    expect(parseFilter("(id eq 1 or id eq 2) and id eq 3")).toEqual({
      kind: "and",
      items: [{ kind: "or", items: [a, b] }, c],
    });
    expect(parseFilter("not (id eq 1 or id eq 2)")).toEqual({
      kind: "not",
      item: { kind: "or", items: [a, b] },
    });
    expect(parseFilter("((id eq 1))")).toEqual(a);
  });

  it("parses and/or chains into flat lists", () => {
    expect(parseFilter("id eq 1 and id eq 2 and id eq 3")).toEqual({
      kind: "and",
      items: [a, b, c],
    });
    const chain = parseFilter(Array.from({ length: 50 }, (_, i) => `id eq ${i}`).join(" or "));
    expect(chain.kind === "or" && chain.items.length).toBe(50);
  });

  it("takes keywords and function names in any case, field names only as listed", () => {
    expect(parseFilter("startsWith(lastName,'x') AND status EQ 'active' Or NOT id In (1)")).toEqual(
      {
        kind: "or",
        items: [
          {
            kind: "and",
            items: [
              { kind: "match", fn: "startswith", field: "lastName", value: "x" },
              cmp("status", "eq", "active"),
            ],
          },
          { kind: "not", item: { kind: "in", field: "id", values: [1] } },
        ],
      },
    );
    expect(filterError("LastName eq 'x'")).toMatch(/^position 0: unknown field 'LastName'/);
  });

  it("allows any whitespace between tokens and none where the tokens are clear", () => {
    expect(parseFilter(" \tid\neq 1\r\n")).toEqual(a);
    expect(parseFilter("(id eq 1)or(id eq 2)")).toEqual({ kind: "or", items: [a, b] });
    expect(parseFilter("id in(1,2)")).toEqual({ kind: "in", field: "id", values: [1, 2] });
  });
});

describe("parseFilter: errors name their position", () => {
  it.each([
    ["status eq", "position 9: expected a value after 'eq'"],
    ["", "position 0: expected a condition"],
    ["   ", "position 3: expected a condition"],
    ["status", "position 6: expected an operator (eq, ne, gt, ge, lt, le or in) after 'status'"],
    [
      "status is 'active'",
      "position 7: expected an operator (eq, ne, gt, ge, lt, le or in) after 'status', found 'is'",
    ],
    [
      "status eq 'active' foo",
      "position 19: expected 'and', 'or' or the end of the filter, found 'foo'",
    ],
    ["(status eq 'active'", "position 19: expected ')' to close the '(' at position 0"],
    ["id eq 1)", "position 7: expected 'and', 'or' or the end of the filter, found ')'"],
    ["status eq 'active' and", "position 22: expected a condition after 'and'"],
    ["status eq 'active' and )", "position 23: expected a condition after 'and', found ')'"],
    ["()", "position 1: expected a condition after '(', found ')'"],
    ["and eq 1", "position 0: expected a field name, found 'and'"],
    ["id eq eq", "position 6: expected a value after 'eq', found 'eq'"],
    ["id eq username", "position 6: expected a value after 'eq', found 'username'"],
    [
      "status eq 'abc",
      "position 10: this string is not closed; end it with ' (write '' for a quote inside)",
    ],
    ["id eq 1 # 2", "position 8: unexpected character '#'"],
    ["id eq 1 😀", "position 8: unexpected character '😀'"],
    [
      "id eq 12abc",
      "position 6: malformed number or date-time; expected e.g. 42, 2026-01-02 or 2026-01-02T03:04:05Z",
    ],
    [
      "createdAt gt 2026-01-02T03:04",
      "position 13: malformed number or date-time; expected e.g. 42, 2026-01-02 or 2026-01-02T03:04:05Z",
    ],
    [
      "length(email) eq 3",
      "position 0: unknown function 'length'; expected contains, startswith, endswith, tolower or toupper",
    ],
    ["id in 1", "position 6: expected '(' after 'in', found '1'"],
    ["id in ()", "position 7: expected a value after '(', found ')'"],
    ["id in (1 2)", "position 9: expected ',' or ')' in the 'in' list, found '2'"],
    ["id in (1,", "position 9: expected a value after ','"],
    [
      "contains(email 'x')",
      "position 15: expected ',' after the field in contains(…), found ''x''",
    ],
    ["contains(email, 'x'", "position 19: expected ')' to close contains(…)"],
    ["tolower(email eq 'x'", "position 14: expected ')' after the field in tolower(…), found 'eq'"],
  ])("%j → %s", (text, message) => {
    expect(filterError(text)).toBe(message);
  });

  it("rejects unknown fields, including ones that are columns or object keys", () => {
    for (const name of ["password_hash", "deleted_at", "first_name", "constructor", "__proto__"]) {
      expect(filterError(`${name} eq 'x'`)).toMatch(
        new RegExp(`^position 0: unknown field '${name}'; fields are id, email, username`),
      );
    }
  });

  it.each([
    ["id eq 'abc'", "position 6: id takes an integer, found ''abc''"],
    ["id eq 2147483648", "position 6: id is a 32-bit integer, found '2147483648'"],
    ["emailVerified eq 3", "position 17: emailVerified takes true or false, found '3'"],
    ["lastName eq 3", "position 12: lastName takes text in single quotes, found '3'"],
    ["email eq true", "position 9: email takes text in single quotes, found 'true'"],
    [
      "createdAt gt 'x'",
      "position 13: createdAt takes a date-time such as 2026-01-02T03:04:05Z or a date such as 2026-01-02, found ''x''",
    ],
    ["createdAt gt 2026-02-31", "position 13: '2026-02-31' is not a valid date or date-time"],
    ["createdAt gt 2025-02-29", "position 13: '2025-02-29' is not a valid date or date-time"],
    [
      "createdAt gt 2026-01-02T24:00:00Z",
      "position 13: '2026-01-02T24:00:00Z' is not a valid date or date-time",
    ],
    [
      "createdAt gt 2026-01-02T03:04:05+16:00",
      "position 13: '2026-01-02T03:04:05+16:00' is not a valid date or date-time",
    ],
    [
      "status eq 'gone'",
      "position 10: status takes one of 'pending', 'invited', 'active', 'suspended', 'deleted', found ''gone''",
    ],
    [
      "role in ('User', 'Root')",
      "position 17: role takes one of 'User', 'Admin', 'AppAdmin', found ''Root''",
    ],
    ["email gt null", "position 9: null can only be compared with eq or ne"],
    [
      "status in ('active', null)",
      "position 21: null cannot be in an 'in' list; use eq null or ne null",
    ],
    ["emailVerified gt true", "position 14: 'gt' does not apply to emailVerified; use eq or ne"],
    ["status LT 'active'", "position 7: 'LT' does not apply to status; use eq, ne or in"],
    [
      "contains(id, '1')",
      "position 9: contains needs a text field (email, username, firstName, lastName), not id",
    ],
    [
      "startswith(status, 'a')",
      "position 11: startswith needs a text field (email, username, firstName, lastName), not status",
    ],
    ["contains(email, 1)", "position 16: contains needs a text value in single quotes, found '1'"],
    [
      "tolower(createdAt) eq 1",
      "position 8: tolower needs a text field (email, username, firstName, lastName), not createdAt",
    ],
  ])("type check: %j → %s", (text, message) => {
    expect(filterError(text)).toBe(message);
  });

  it("reports the first problem in reading order", () => {
    // The unclosed string comes later than the missing value.
    expect(filterError("id eq and lastName eq 'x")).toBe(
      "position 6: expected a value after 'eq', found 'and'",
    );
  });

  it("throws AppError INVALID_FILTER, never anything else", () => {
    expect(() => parseFilter("id eq")).toThrow(AppError);
  });
});

describe("parseFilter: bounds", () => {
  const term = "id eq 1";

  it("accepts 2,000 characters and rejects 2,001", () => {
    expect(() => parseFilter(term.padEnd(2000))).not.toThrow();
    expect(filterError(term.padEnd(2001))).toBe(
      "position 2000: the filter is longer than 2000 characters",
    );
  });

  it("accepts 32 levels of nesting and rejects 33", () => {
    const nest = (n: number) => `${"(".repeat(n)}${term}${")".repeat(n)}`;
    expect(() => parseFilter(nest(32))).not.toThrow();
    expect(filterError(nest(33))).toBe(
      "position 32: nesting is deeper than 32 levels of parentheses and 'not'",
    );
    expect(() => parseFilter(`${"not ".repeat(32)}${term}`)).not.toThrow();
    expect(filterError(`${"not ".repeat(33)}${term}`)).toBe(
      "position 128: nesting is deeper than 32 levels of parentheses and 'not'",
    );
    expect(filterError(`${"not (".repeat(16)}not ${term}`)).toMatch(/^position 80: nesting/);
  });

  it("does not count function and in-list parentheses as nesting", () => {
    const deep = `${"(".repeat(32)}contains(email,'x') and id in (1)${")".repeat(32)}`;
    expect(() => parseFilter(deep)).not.toThrow();
  });

  it("accepts 200 terms and rejects the 201st", () => {
    // 201 terms do not fit in 2,000 characters, so this bound is checked with a longer limit.
    const limits = { ...FILTER_LIMITS, length: 100_000 };
    const terms = (n: number) => Array.from({ length: n }, () => term).join(" or ");
    expect(() => parseFilter(terms(200), limits)).not.toThrow();
    expect(filterError(terms(201))).toMatch(/^position 2000: the filter is longer/);
    expect(errorOf(() => parseFilter(terms(201), limits))).toBe(
      `position ${200 * (term.length + 4)}: the filter has more than 200 conditions`,
    );
  });

  it("accepts 100 in-list values and rejects the 101st", () => {
    const list = (n: number) => `id in (${Array.from({ length: n }, () => "1").join(",")})`;
    expect(() => parseFilter(list(100))).not.toThrow();
    expect(filterError(list(101))).toBe("position 207: an 'in' list has at most 100 values");
  });

  // The inputs an attacker would pick against a backtracking or quadratic parser, as a function
  // of their length. Linearity is judged by growth, not by a wall-clock bound (which a loaded
  // machine breaks): eight times the input must cost less than half of the 64 times a quadratic
  // parser would take.
  it.each([
    ["quotes", (n: number) => "'".repeat(n)],
    ["escaped quotes", (n: number) => `lastName eq '${"''".repeat(n / 2)}'`],
    ["open parentheses", (n: number) => "(".repeat(n)],
    ["nots", (n: number) => "not ".repeat(n / 4)],
    ["digits", (n: number) => "1".repeat(n)],
    ["one long word", (n: number) => "a".repeat(n)],
    ["dates", (n: number) => "2026-01-02 ".repeat(n / 11)],
    ["in list", (n: number) => `id in (${"1,".repeat(n / 2)}`],
    ["commas", (n: number) => ",".repeat(n)],
    ["or chain", (n: number) => Array.from({ length: n / 10 }, () => term).join(" or ")],
  ])("parses %s in time linear in their length", (_, text) => {
    const large = costOf(text(16_000));
    const small = costOf(text(2_000));
    expect(large / small).toBeLessThan(32);
  });

  it("rejects a 10,000-term or chain without a stack overflow", () => {
    const chain = Array.from({ length: 10_000 }, () => term).join(" or ");
    expect(filterError(chain)).toMatch(/^position 2000: the filter is longer/);
    // Past the length bound the term bound stops it; past both it still parses as a flat list.
    expect(errorOf(() => parseFilter(chain, { ...FILTER_LIMITS, length: Infinity }))).toMatch(
      /more than 200 conditions/,
    );
    const flat = parseFilter(chain, { ...FILTER_LIMITS, length: Infinity, terms: Infinity });
    expect(flat.kind === "or" && flat.items.length).toBe(10_000);
  });
});

/**
 * The time of parsing `text` with no length or term bound (so the parser itself, not a bound,
 * meets all of it): warmed up first, then the best of several batches, the measure least
 * disturbed by the rest of the machine. Only a ratio of two such costs means anything.
 */
function costOf(text: string): number {
  const limits = { ...FILTER_LIMITS, length: Infinity, terms: Infinity, inValues: Infinity };
  const parse = () => {
    try {
      parseFilter(text, limits);
    } catch (error) {
      expect((error as AppError).apiCode).toBe("INVALID_FILTER");
    }
  };
  for (let i = 0; i < 5; i++) parse();
  let best = Infinity;
  for (let batch = 0; batch < 7; batch++) {
    const started = performance.now();
    for (let i = 0; i < 10; i++) parse();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe("filterMentionsDeleted", () => {
  it.each([
    ["status eq 'deleted'", true],
    ["status eq 'DELETED' or id eq 1", true],
    ["id eq 1 and status in ('active', 'deleted')", true],
    ["not (status ne 'deleted')", true],
    ["status eq 'active'", false],
    ["status ne 'deleted'", false],
    ["not (status eq 'deleted')", false],
    ["not status in ('deleted')", false],
    ["lastName eq 'deleted'", false],
    ["contains(lastName, 'deleted')", false],
  ])("%j → %s", (text, expected) => {
    expect(filterMentionsDeleted(parseFilter(text))).toBe(expected);
  });
});

describe("filterToSql", () => {
  it("compares text as lower(column) against lower(value)", () => {
    expect(toSql("email eq 'A@B.io'")).toEqual({
      where: 'lower("email") = lower($1)',
      parameters: ["A@B.io"],
    });
    expect(toSql("tolower(lastName) in ('X', 'y')")).toEqual({
      where: 'lower("last_name") in (lower($1), lower($2))',
      parameters: ["X", "y"],
    });
  });

  it("escapes %, _ and \\ in like patterns and binds them", () => {
    expect(toSql("contains(lastName, '50%_a\\b')")).toEqual({
      where: `lower("last_name") like lower($1) escape '\\'`,
      parameters: ["%50\\%\\_a\\\\b%"],
    });
    expect(toSql("startswith(email, 'a')").parameters).toEqual(["a%"]);
    expect(toSql("endswith(email, 'a')").parameters).toEqual(["%a"]);
  });

  it("maps operators, null, booleans, enums and date-times", () => {
    expect(toSql("id ne 1 and id ge 2 and id le 3 and id lt 4 and id gt 5").where).toBe(
      '("id" <> $1 and "id" >= $2 and "id" <= $3 and "id" < $4 and "id" > $5)',
    );
    expect(toSql("email eq null or email ne null").where).toBe(
      '("email" is null or "email" is not null)',
    );
    expect(toSql("emailVerified eq true and role eq 'admin'")).toEqual({
      where: '("email_verified" = $1 and "role" = $2)',
      parameters: [true, "Admin"],
    });
    expect(toSql("createdAt lt 2026-01-02")).toEqual({
      where: '"created_at" < cast($1 as timestamptz)',
      parameters: ["2026-01-02T00:00:00Z"],
    });
    expect(toSql("not firstName eq 'a'").where).toBe('not (lower("first_name") = lower($1))');
  });

  it("never puts a value into the SQL text", () => {
    const { where, parameters } = toSql("lastName eq 'x'' or ''1''=''1' or id eq 7");
    expect(where).toBe('(lower("last_name") = lower($1) or "id" = $2)');
    expect(parameters).toEqual(["x' or '1'='1", 7]);
  });
});

describe("$orderby and $select", () => {
  it("parses fields with directions and appends id", () => {
    expect(parseOrderBy("lastName desc, createdAt")).toEqual([
      { field: "lastName", column: "last_name", direction: "desc" },
      { field: "createdAt", column: "created_at", direction: "asc" },
      { field: "id", column: "id", direction: "asc" },
    ]);
    expect(parseOrderBy(" id DESC ,email")).toEqual([
      { field: "id", column: "id", direction: "desc" },
      { field: "email", column: "email", direction: "asc" },
    ]);
  });

  it.each([
    ["email,foo", "$orderby position 6: unknown field 'foo'"],
    ["", "$orderby position 0: expected a field name"],
    ["email,", "$orderby position 6: expected a field name"],
    ["email up", "$orderby position 6: expected 'asc' or 'desc' after 'email', found 'up'"],
    ["email asc desc", "$orderby position 10: expected 'asc', 'desc', ',' or the end, found 'd'"],
    ["email;id", "$orderby position 5: expected 'asc', 'desc', ',' or the end, found ';'"],
    ["email, id, email", "$orderby position 11: 'email' appears more than once"],
    ["email,username,lastName,id", "$orderby position 24: at most 3 fields"],
    ["lastLoginAt", "$orderby position 0: unknown field 'lastLoginAt'"],
    ["password_hash", "$orderby position 0: unknown field 'password_hash'"],
  ])("$orderby %j → %s", (text, message) => {
    expect(errorOf(() => parseOrderBy(text))).toBe(message);
  });

  it("parses $select", () => {
    expect(parseSelect("id, email,lastLoginAt")).toEqual(["id", "email", "lastLoginAt"]);
  });

  it.each([
    ["", "$select position 0: expected a field name"],
    ["id,id", "$select position 3: 'id' appears more than once"],
    ["id,passwordHash", "$select position 3: unknown field 'passwordHash'"],
    ["id desc", "$select position 3: expected ',' or the end, found 'd'"],
    ["toString", "$select position 0: unknown field 'toString'"],
  ])("$select %j → %s", (text, message) => {
    expect(errorOf(() => parseSelect(text))).toBe(message);
  });
});
