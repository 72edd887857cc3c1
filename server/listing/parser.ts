import {
  type CompareOp,
  FILTER_FIELDS,
  type FieldType,
  type FilterAst,
  type FilterField,
  type FilterValue,
  type MatchFunction,
} from "../../db/listing-query.ts";
import { invalid, Lexer, quoteToken, type Token } from "./lexer.ts";

/** Looks a name up without ever matching inherited keys such as `constructor`. */
export function filterField(name: string): FilterField | undefined {
  return Object.hasOwn(FILTER_FIELDS, name) ? (name as FilterField) : undefined;
}

export type FilterLimits = Readonly<{
  length: number;
  depth: number;
  terms: number;
  inValues: number;
}>;
export const FILTER_LIMITS: FilterLimits = { length: 2000, depth: 32, terms: 200, inValues: 100 };

const COMPARE_OPS: readonly string[] = ["eq", "ne", "gt", "ge", "lt", "le"];
const MATCH_FUNCTIONS: readonly string[] = ["contains", "startswith", "endswith"];
// Matching is case-insensitive anyway, so tolower/toupper change nothing; they are accepted
// because OData clients habitually write them.
const CASE_FUNCTIONS: readonly string[] = ["tolower", "toupper"];
const KEYWORDS: readonly string[] = ["and", "or", "not", "in", ...COMPARE_OPS];
const TEXT_FIELDS = "email, username, firstName, lastName";
const INT4 = { min: -2147483648, max: 2147483647 };

/**
 * Parses `$filter`; every problem is an AppError INVALID_FILTER naming its position. The limits
 * are a parameter so tests can reach each bound on its own (at 2,000 characters the length bound
 * is hit before 201 terms fit).
 */
export function parseFilter(text: string, limits: FilterLimits = FILTER_LIMITS): FilterAst {
  if (text.length > limits.length) {
    throw invalid(limits.length, `the filter is longer than ${limits.length} characters`);
  }
  return new Parser(text, limits).parse();
}

/**
 * Recursive descent with one token of lookahead and no backtracking, so time is linear. `and`
 * and `or` chains are loops building flat lists; only parentheses and `not` recurse, and they are
 * capped at the depth limit, so the stack stays shallow whatever the input.
 */
class Parser {
  private readonly lexer: Lexer;
  private previous: Token | undefined;
  private terms = 0;

  constructor(
    text: string,
    private readonly limits: FilterLimits,
  ) {
    this.lexer = new Lexer(text);
  }

  parse(): FilterAst {
    const ast = this.orChain(0);
    const rest = this.lexer.peek();
    if (rest.kind !== "end") {
      throw invalid(rest.pos, `expected 'and', 'or' or the end of the filter${found(rest)}`);
    }
    return ast;
  }

  private next(): Token {
    this.previous = this.lexer.next();
    return this.previous;
  }

  private orChain(depth: number): FilterAst {
    const first = this.andChain(depth);
    const items = [first];
    while (isWord(this.lexer.peek(), "or")) {
      this.next();
      items.push(this.andChain(depth));
    }
    return items.length === 1 ? first : { kind: "or", items };
  }

  private andChain(depth: number): FilterAst {
    const first = this.unary(depth);
    const items = [first];
    while (isWord(this.lexer.peek(), "and")) {
      this.next();
      items.push(this.unary(depth));
    }
    return items.length === 1 ? first : { kind: "and", items };
  }

  private unary(depth: number): FilterAst {
    const token = this.lexer.peek();
    if (isWord(token, "not") || token.kind === "(") {
      if (depth >= this.limits.depth) {
        throw invalid(
          token.pos,
          `nesting is deeper than ${this.limits.depth} levels of parentheses and 'not'`,
        );
      }
      this.next();
      // OData ranks `not` above comparisons, but a field is never a boolean condition here, so
      // `not status eq 'x'` can only mean `not (status eq 'x')`; for booleans both readings agree.
      if (token.kind !== "(") return { kind: "not", item: this.unary(depth + 1) };
      const inner = this.orChain(depth + 1);
      this.expect(")", `expected ')' to close the '(' at position ${token.pos}`);
      return inner;
    }
    return this.predicate();
  }

  /** A comparison, an `in` list or a matching function: one term of the filter. */
  private predicate(): FilterAst {
    const after = this.previous ? ` after ${quoteToken(this.previous)}` : "";
    const token = this.next();
    if (token.kind !== "word") {
      throw invalid(token.pos, `expected a condition${after}${found(token)}`);
    }
    this.terms++;
    if (this.terms > this.limits.terms) {
      throw invalid(token.pos, `the filter has more than ${this.limits.terms} conditions`);
    }
    const name = token.text.toLowerCase();
    if (this.lexer.peek().kind === "(") {
      if (MATCH_FUNCTIONS.includes(name)) return this.matchCall(token, name as MatchFunction);
      if (CASE_FUNCTIONS.includes(name)) return this.comparison(this.caseCall(token), token);
      throw invalid(
        token.pos,
        `unknown function '${token.text}'; expected contains, startswith, endswith, tolower or toupper`,
      );
    }
    return this.comparison(this.field(token), token);
  }

  private comparison(field: FilterField, left: Token): FilterAst {
    const opToken = this.next();
    const op = opToken.kind === "word" ? opToken.text.toLowerCase() : "";
    if (op === "in") return this.inList(field);
    if (!COMPARE_OPS.includes(op)) {
      throw invalid(
        opToken.pos,
        `expected an operator (eq, ne, gt, ge, lt, le or in) after ${quoteToken(left)}${found(opToken)}`,
      );
    }
    const { type } = FILTER_FIELDS[field];
    if (op !== "eq" && op !== "ne" && (type === "bool" || type === "enum")) {
      const use = type === "bool" ? "eq or ne" : "eq, ne or in";
      throw invalid(opToken.pos, `'${opToken.text}' does not apply to ${field}; use ${use}`);
    }
    const valueToken = this.next();
    const value = this.value(field, valueToken, opToken);
    if (value === null && op !== "eq" && op !== "ne") {
      throw invalid(valueToken.pos, "null can only be compared with eq or ne");
    }
    return { kind: "compare", op: op as CompareOp, field, value };
  }

  private inList(field: FilterField): FilterAst {
    const open = this.expect("(", "expected '(' after 'in'");
    const values: FilterValue[] = [];
    let separator = open;
    for (;;) {
      const token = this.next();
      if (values.length === this.limits.inValues) {
        throw invalid(token.pos, `an 'in' list has at most ${this.limits.inValues} values`);
      }
      const value = this.value(field, token, separator);
      if (value === null) {
        throw invalid(token.pos, "null cannot be in an 'in' list; use eq null or ne null");
      }
      values.push(value);
      separator = this.next();
      if (separator.kind === ")") return { kind: "in", field, values };
      if (separator.kind !== ",") {
        throw invalid(separator.pos, `expected ',' or ')' in the 'in' list${found(separator)}`);
      }
    }
  }

  private matchCall(name: Token, fn: MatchFunction): FilterAst {
    this.next(); // the "(" seen by predicate()
    const fieldToken = this.next();
    const field =
      fieldToken.kind === "word" &&
      CASE_FUNCTIONS.includes(fieldToken.text.toLowerCase()) &&
      this.lexer.peek().kind === "("
        ? this.caseCall(fieldToken)
        : this.textField(fieldToken, name);
    this.expect(",", `expected ',' after the field in ${name.text}(…)`);
    const valueToken = this.next();
    if (valueToken.kind !== "string") {
      throw invalid(
        valueToken.pos,
        `${name.text} needs a text value in single quotes${found(valueToken)}`,
      );
    }
    this.expect(")", `expected ')' to close ${name.text}(…)`);
    return { kind: "match", fn, field, value: valueToken.value };
  }

  /** tolower(field) or toupper(field), used where a field is; the field must be text. */
  private caseCall(name: Token): FilterField {
    this.next(); // the "(" seen by the caller
    const field = this.textField(this.next(), name);
    this.expect(")", `expected ')' after the field in ${name.text}(…)`);
    return field;
  }

  private textField(token: Token, fn: Token): FilterField {
    const field = this.field(token);
    if (FILTER_FIELDS[field].type !== "text") {
      throw invalid(token.pos, `${fn.text} needs a text field (${TEXT_FIELDS}), not ${field}`);
    }
    return field;
  }

  private field(token: Token): FilterField {
    const field = token.kind === "word" ? filterField(token.text) : undefined;
    if (field) return field;
    if (token.kind !== "word" || KEYWORDS.includes(token.text.toLowerCase())) {
      throw invalid(token.pos, `expected a field name${found(token)}`);
    }
    const fields = Object.keys(FILTER_FIELDS).join(", ");
    throw invalid(token.pos, `unknown field '${token.text}'; fields are ${fields}`);
  }

  /** Reads a literal and checks it against the field's type. */
  private value(field: FilterField, token: Token, after: Token): FilterValue | null {
    const def: { type: FieldType; values?: readonly string[] } = FILTER_FIELDS[field];
    const word = token.kind === "word" ? token.text.toLowerCase() : "";
    if (word === "null") return null;
    const isLiteral =
      token.kind === "string" ||
      token.kind === "int" ||
      token.kind === "datetime" ||
      word === "true" ||
      word === "false";
    if (!isLiteral) {
      throw invalid(token.pos, `expected a value after ${quoteToken(after)}${found(token)}`);
    }
    const wrong = (expected: string) =>
      invalid(token.pos, `${field} ${expected}, found ${quoteToken(token)}`);
    switch (def.type) {
      case "int":
        if (token.kind !== "int") throw wrong("takes an integer");
        if (token.value < INT4.min || token.value > INT4.max) throw wrong("is a 32-bit integer");
        return token.value;
      case "text":
        if (token.kind !== "string") throw wrong("takes text in single quotes");
        return token.value;
      case "enum": {
        const allowed = def.values ?? [];
        const lower = token.kind === "string" ? token.value.toLowerCase() : undefined;
        const canonical = allowed.find((v) => v.toLowerCase() === lower);
        if (canonical === undefined) throw wrong(`takes one of '${allowed.join("', '")}'`);
        return canonical;
      }
      case "bool":
        if (token.kind !== "word") throw wrong("takes true or false");
        return word === "true";
      case "datetime":
        if (token.kind !== "datetime") {
          throw wrong(
            "takes a date-time such as 2026-01-02T03:04:05Z or a date such as 2026-01-02",
          );
        }
        return token.value;
    }
  }

  private expect(kind: "(" | ")" | ",", message: string): Token {
    const token = this.next();
    if (token.kind !== kind) throw invalid(token.pos, `${message}${found(token)}`);
    return token;
  }
}

function isWord(token: Token, keyword: string): boolean {
  return token.kind === "word" && token.text.toLowerCase() === keyword;
}

/** ", found 'x'", or nothing at the end of the input (the position already says so). */
function found(token: Token): string {
  return token.kind === "end" ? "" : `, found ${quoteToken(token)}`;
}

/**
 * True when the filter positively asks for status 'deleted' (eq or in, not negated), which is
 * what lets an admin see soft-deleted users. A negated mention asks to leave them out, so it
 * does not count.
 */
export function filterMentionsDeleted(ast: FilterAst): boolean {
  return asksForDeleted(ast, false);
}

function asksForDeleted(ast: FilterAst, negated: boolean): boolean {
  switch (ast.kind) {
    case "and":
    case "or":
      return ast.items.some((item) => asksForDeleted(item, negated));
    case "not":
      return asksForDeleted(ast.item, !negated);
    case "compare":
      // `status ne 'deleted'` under a `not` asks for them too.
      return ast.field === "status" && ast.value === "deleted" && (ast.op === "eq") !== negated;
    case "in":
      return ast.field === "status" && !negated && ast.values.includes("deleted");
    case "match":
      return false;
  }
}
