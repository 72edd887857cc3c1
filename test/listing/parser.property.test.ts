import fc from "fast-check";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, ROLES, STATUSES } from "../../db/database.ts";
import { filterToSql } from "../../db/listing-sql.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../db/open.ts";
import type { UserRow } from "../../db/users.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { parseFilter } from "../../server/listing/parser.ts";

let handle: DatabaseHandle;
let db: Kysely<Database>;
let rows: UserRow[];

const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 1, 12, 0, 0, 0);
const FIRST_NAMES = ["Ann", "anna", "ANNE", "Bob", "bob", "Zoë", "Émile", "al_x", "50%"];
const LAST_NAMES = ["Smith", "smith", "SMITH", "O'Brien", "Lovelace", "lovelace", "100%_sure"];
const MORE_LAST_NAMES = ["back\\slash", "Under_score", "x", "Xy", "o''brien"];

// About 60 users with many ties (names, dates, statuses) so comparisons select varied subsets.
beforeAll(async () => {
  handle = await openDatabase({ dataDir: "memory://" });
  db = handle.db;
  await migrateToLatest(db);
  const lastNames = [...LAST_NAMES, ...MORE_LAST_NAMES];
  for (let i = 0; i < 60; i++) {
    const created = BASE + (i % 15) * DAY + (i % 4);
    await db
      .insertInto("users")
      .values({
        email: `${i % 2 ? "User" : "user"}${i}.${FIRST_NAMES[i % 9]}@Example.com`,
        username: `u${i}_${i % 7}`,
        first_name: FIRST_NAMES[(i * 5) % FIRST_NAMES.length] ?? "",
        last_name: lastNames[i % lastNames.length] ?? "",
        status: STATUSES[i % STATUSES.length] ?? "active",
        role: ROLES[(i * 7) % ROLES.length] ?? "User",
        email_verified: i % 3 === 0,
        password_hash: null,
        created_at: new Date(created),
        updated_at: new Date(created + (i % 5) * 3_600_000),
      })
      .execute();
  }
  rows = await db.selectFrom("users").selectAll().orderBy("id").execute();
});

afterAll(async () => {
  await handle.close();
});

/** A generated filter: its text, and what it means, evaluated in plain JavaScript. */
type Gen = { text: string; kind: "leaf" | "not" | "and" | "or"; test: (row: UserRow) => boolean };

const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
const space = fc.constantFrom(" ", "  ", "\t");

type Op = "eq" | "ne" | "gt" | "ge" | "lt" | "le";
const OPS: readonly Op[] = ["eq", "ne", "gt", "ge", "lt", "le"];
function compare<T>(a: T, op: Op, b: T): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "ne":
      return a !== b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
  }
}

const TEXT_COLUMNS = {
  email: "email",
  username: "username",
  firstName: "first_name",
  lastName: "last_name",
} as const;
type TextField = keyof typeof TEXT_COLUMNS;

// Text values: exact values in any case, pieces of them, and short strings of awkward characters.
const textValue = fc.oneof(
  fc.constantFrom(...FIRST_NAMES, ...LAST_NAMES, ...MORE_LAST_NAMES, "user1.anna@example.com"),
  fc
    .constantFrom(...FIRST_NAMES, ...LAST_NAMES)
    .chain((v) =>
      fc
        .tuple(fc.nat(v.length), fc.nat(v.length))
        .map(([a, b]) => v.slice(Math.min(a, b), Math.max(a, b))),
    ),
  fc.string({
    unit: fc.constantFrom("a", "S", "%", "_", "\\", "'", "1", ".", "@", " ", "ë"),
    maxLength: 4,
  }),
);

const textLeaf: fc.Arbitrary<Gen> = fc.oneof(
  fc
    .record({
      field: fc.constantFrom(...(Object.keys(TEXT_COLUMNS) as TextField[])),
      op: fc.constantFrom(...OPS),
      opText: fc.constant(""),
      value: textValue,
      wrap: fc.constantFrom("", "tolower", "toupper", "ToLower"),
    })
    .chain((g) => anyCase(g.op).map((opText) => ({ ...g, opText })))
    .map(({ field, op, opText, value, wrap }) => ({
      text: `${wrap ? `${wrap}(${field})` : field} ${opText} ${quote(value)}`,
      kind: "leaf" as const,
      test: (row: UserRow) =>
        compare(row[TEXT_COLUMNS[field]].toLowerCase(), op, value.toLowerCase()),
    })),
  fc
    .record({
      field: fc.constantFrom(...(Object.keys(TEXT_COLUMNS) as TextField[])),
      fn: fc.constantFrom("contains", "startswith", "endswith"),
      fnText: fc.constantFrom("contains", "startsWith", "endswith", "CONTAINS", "startswith"),
      value: textValue,
    })
    .map(({ field, fn, fnText, value }) => ({
      text: `${fnText.toLowerCase() === fn ? fnText : fn}(${field},${quote(value)})`,
      kind: "leaf" as const,
      test: (row: UserRow) => {
        const [haystack, needle] = [row[TEXT_COLUMNS[field]].toLowerCase(), value.toLowerCase()];
        if (fn === "contains") return haystack.includes(needle);
        return fn === "startswith" ? haystack.startsWith(needle) : haystack.endsWith(needle);
      },
    })),
  fc
    .record({
      field: fc.constantFrom(...(Object.keys(TEXT_COLUMNS) as TextField[])),
      values: fc.array(textValue, { minLength: 1, maxLength: 4 }),
    })
    .map(({ field, values }) => ({
      text: `${field} in (${values.map(quote).join(", ")})`,
      kind: "leaf" as const,
      test: (row: UserRow) =>
        values.some((v) => v.toLowerCase() === row[TEXT_COLUMNS[field]].toLowerCase()),
    })),
);

const idLeaf: fc.Arbitrary<Gen> = fc.oneof(
  fc
    .record({ op: fc.constantFrom(...OPS), value: fc.integer({ min: -2, max: 65 }) })
    .map(({ op, value }) => ({
      text: `id ${op} ${value}`,
      kind: "leaf" as const,
      test: (row: UserRow) => compare(row.id, op, value),
    })),
  fc.array(fc.integer({ min: 0, max: 65 }), { minLength: 1, maxLength: 6 }).map((values) => ({
    text: `id in (${values.join(",")})`,
    kind: "leaf" as const,
    test: (row: UserRow) => values.includes(row.id),
  })),
);

const enumLeaf: fc.Arbitrary<Gen> = fc
  .record({
    field: fc.constantFrom("status" as const, "role" as const),
    op: fc.constantFrom("eq", "ne", "in"),
    pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    upper: fc.boolean(),
  })
  .map(({ field, op, pick, upper }) => {
    const allowed: readonly string[] = field === "status" ? STATUSES : ROLES;
    const values = pick.map((n) => allowed[n % allowed.length] ?? "");
    const shown = values.map((v) => quote(upper ? v.toUpperCase() : v));
    const text =
      op === "in" ? `${field} in (${shown.join(",")})` : `${field} ${op} ${shown[0] ?? ""}`;
    const test = (row: UserRow) =>
      op === "in" ? values.includes(row[field]) : (row[field] === values[0]) === (op === "eq");
    return { text, kind: "leaf" as const, test };
  });

const boolLeaf: fc.Arbitrary<Gen> = fc
  .record({ op: fc.constantFrom("eq", "ne"), value: fc.boolean(), text: anyCase("true") })
  .map(({ op, value, text }) => ({
    text: `emailVerified ${op} ${value ? text : "false"}`,
    kind: "leaf" as const,
    test: (row: UserRow) => (row.email_verified === value) === (op === "eq"),
  }));

const nullLeaf: fc.Arbitrary<Gen> = fc
  .record({
    field: fc.constantFrom("id", "email", "status", "emailVerified", "createdAt"),
    op: fc.constantFrom("eq", "ne"),
  })
  .map(({ field, op }) => ({
    text: `${field} ${op} null`,
    kind: "leaf" as const,
    // No listed column is nullable.
    test: () => op === "ne",
  }));

// Instants near the stored ones (equal, a millisecond either side, a day later), in three spellings.
const dateLeaf: fc.Arbitrary<Gen> = fc
  .record({
    field: fc.constantFrom("createdAt" as const, "updatedAt" as const),
    op: fc.constantFrom(...OPS),
    day: fc.integer({ min: -1, max: 16 }),
    nudge: fc.constantFrom(0, 1, -1, 2, 3, 3_600_000),
    style: fc.constantFrom("utc", "offset", "date"),
  })
  .map(({ field, op, day, nudge, style }) => {
    const instant = BASE + day * DAY + nudge;
    const iso = new Date(instant).toISOString();
    const [text, ms] =
      style === "utc"
        ? [iso, instant]
        : style === "offset"
          ? [new Date(instant + 2 * 3_600_000).toISOString().replace("Z", "+02:00"), instant]
          : [iso.slice(0, 10), Date.parse(iso.slice(0, 10))];
    const column = field === "createdAt" ? "created_at" : "updated_at";
    return {
      text: `${field} ${op} ${text}`,
      kind: "leaf" as const,
      test: (row: UserRow) => compare(row[column].getTime(), op, ms),
    };
  });

const leaf = fc.oneof(textLeaf, textLeaf, idLeaf, enumLeaf, boolLeaf, nullLeaf, dateLeaf);

/** Parenthesizes only where precedence needs it, so the parser's precedence is what is tested. */
const { node: filterGen } = fc.letrec<{ node: Gen; not: Gen; and: Gen; or: Gen }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: "filter" },
    leaf,
    tie("not"),
    tie("and"),
    tie("or"),
  ),
  not: fc.tuple(tie("node"), anyCase("not"), space).map(([item, word, gap]) => ({
    text:
      item.kind === "leaf" || item.kind === "not"
        ? `${word}${gap}${item.text}`
        : `${word}(${item.text})`,
    kind: "not" as const,
    test: (row: UserRow) => !item.test(row),
  })),
  and: fc
    .tuple(fc.array(tie("node"), { minLength: 2, maxLength: 4 }), anyCase("and"), space)
    .map(([items, word, gap]) => ({
      text: items
        .map((item) => (item.kind === "or" ? `(${item.text})` : item.text))
        .join(`${gap}${word}${gap}`),
      kind: "and" as const,
      test: (row: UserRow) => items.every((item) => item.test(row)),
    })),
  or: fc
    .tuple(fc.array(tie("node"), { minLength: 2, maxLength: 4 }), anyCase("or"), space)
    .map(([items, word, gap]) => ({
      text: items.map((item) => item.text).join(`${gap}${word}${gap}`),
      kind: "or" as const,
      test: (row: UserRow) => items.some((item) => item.test(row)),
    })),
}));

/** Parses, checking that only INVALID_FILTER with an in-range position escapes. */
function parseChecked(text: string) {
  try {
    return parseFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).apiCode).toBe("INVALID_FILTER");
    const position = Number(/^position (\d+): \S/.exec((error as AppError).message)?.[1]);
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThanOrEqual(text.length);
    return undefined;
  }
}

function idsWhere(text: string) {
  const ast = parseFilter(text);
  return db
    .selectFrom("users")
    .select("id")
    .where((eb) => filterToSql(ast, eb))
    .orderBy("id")
    .execute()
    .then((found) => found.map((row) => row.id));
}

const TOKENS = [
  "(",
  ")",
  "'",
  "''",
  ",",
  " ",
  "eq",
  "and",
  "or",
  "not",
  "in",
  "id",
  "status",
  "lastName",
  "1",
  "-",
  "2026-01-02",
  "T03:04:05Z",
  "contains",
  "tolower",
  "null",
  "true",
  "\u0000",
  "😀",
];
// Mostly characters and snippets that keep a filter valid, so that many mutants still parse and
// get run, plus a few that break it.
const MUTATION_SNIPPETS = [
  " ",
  "  ",
  "9",
  "0",
  "5",
  "%",
  "_",
  "\\",
  "''",
  "é",
  "not ",
  " or id eq 1",
  " and id ne 2",
  "(",
  ")",
  "'",
  ",",
  ":",
  "-",
  "T",
  "\u0000",
];

describe("parseFilter on hostile input", () => {
  it("throws nothing but INVALID_FILTER on random strings, quickly", () => {
    const anyText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom("(", "not ", "'", "id eq 1 or "),
        minLength: 150,
        maxLength: 700,
      }),
    );
    fc.assert(
      fc.property(anyText, (text) => void parseChecked(text)),
      { numRuns: 2000 },
    );
  });

  it("throws nothing but INVALID_FILTER on mutated valid filters, and what parses runs", async () => {
    const mutation = fc.record({
      kind: fc.constantFrom("insert", "insert", "replace", "delete", "duplicate", "truncate"),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 8 }),
      snippet: fc.constantFrom(...MUTATION_SNIPPETS),
    });
    await fc.assert(
      fc.asyncProperty(
        filterGen,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (gen, mutations) => {
          let text = gen.text;
          for (const m of mutations) {
            const at = m.at % (text.length + 1);
            if (m.kind === "delete") text = text.slice(0, at) + text.slice(at + m.length);
            if (m.kind === "insert") text = text.slice(0, at) + m.snippet + text.slice(at);
            if (m.kind === "replace") text = text.slice(0, at) + m.snippet + text.slice(at + 1);
            if (m.kind === "duplicate") text = text.slice(0, at + m.length) + text.slice(at);
            if (m.kind === "truncate") text = text.slice(0, at);
          }
          // Whatever still parses must also run: no value may reach SQL in a form it rejects.
          if (parseChecked(text)) await idsWhere(text);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("literals at their extremes", () => {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const dateTime = fc
    .record({
      date: fc.date({
        min: new Date("0001-01-01T00:00:00Z"),
        max: new Date("9999-12-31T23:59:59Z"),
        noInvalidDate: true,
      }),
      fraction: fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 0, maxLength: 9 }),
      zone: fc.oneof(
        fc.constantFrom("Z", "z"),
        fc
          .tuple(
            fc.constantFrom("+", "-"),
            fc.integer({ min: 0, max: 15 }),
            fc.integer({ min: 0, max: 59 }),
          )
          .map(([sign, h, m]) => `${sign}${pad(h)}:${pad(m)}`),
      ),
    })
    .map(({ date, fraction, zone }) => {
      const iso = date.toISOString().slice(0, 19);
      return `${iso}${fraction ? `.${fraction}` : ""}${zone}`;
    });
  const filter = fc.oneof(
    fc
      .string({ unit: "binary", maxLength: 40 })
      .map((v) => `contains(lastName, ${quote(v)}) or email ge ${quote(v)}`),
    fc.integer({ min: -2147483648, max: 2147483647 }).map((n) => `id le ${n}`),
    dateTime.map((d) => `createdAt ge ${d} or updatedAt eq ${d.slice(0, 10)}`),
  );

  it("reach SQL in a form PostgreSQL accepts", async () => {
    await fc.assert(
      fc.asyncProperty(filter, async (text) => {
        if (parseChecked(text)) await idsWhere(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseFilter + filterToSql against a JavaScript evaluator", () => {
  it("selects exactly the users the filter's meaning selects", async () => {
    await fc.assert(
      fc.asyncProperty(filterGen, async (gen) => {
        expect(parseChecked(gen.text), gen.text).toBeDefined();
        const expected = rows.filter(gen.test).map((row) => row.id);
        expect(await idsWhere(gen.text), gen.text).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it("seeded enough variety for the comparison to mean something", () => {
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((row) => row.last_name.toLowerCase())).size).toBeGreaterThan(5);
  });
});
