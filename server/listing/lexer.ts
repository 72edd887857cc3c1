import { AppError } from "../errors/api-errors.ts";

/**
 * Tokens of the $filter language. `pos` is the 0-based offset of the token's first character and
 * `text` its source text, both kept so that errors can point at and quote what the caller wrote.
 */
export type Token =
  | { kind: "word"; pos: number; text: string }
  | { kind: "string"; pos: number; text: string; value: string }
  | { kind: "int"; pos: number; text: string; value: number }
  /** `value` is RFC 3339 text PostgreSQL reads exactly; a bare date means midnight UTC. */
  | { kind: "datetime"; pos: number; text: string; value: string }
  | { kind: "(" | ")" | ","; pos: number; text: string }
  | { kind: "end"; pos: number; text: "" };

/** The one error of the listing parameters: 400 INVALID_FILTER naming where the problem starts. */
export function invalid(pos: number, message: string, param?: string): AppError {
  const where = param ? `${param} position ${pos}` : `position ${pos}`;
  return new AppError("INVALID_FILTER", `${where}: ${message}`);
}

/** Quotes the character at `pos`, or names it (U+0000) when it is invisible or broken. */
export function showChar(text: string, pos: number): string {
  const code = text.codePointAt(pos) ?? 0;
  const char = String.fromCodePoint(code);
  if (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char)) return `'${char}'`;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** How a token is quoted in messages; long tokens are cut so the message stays short. */
export function quoteToken(token: Token): string {
  if (token.kind === "end") return "the end of the filter";
  const text = token.text.length > 20 ? `${token.text.slice(0, 20)}…` : token.text;
  return `'${text}'`;
}

// Sticky (y) patterns match only at lastIndex, so every character is examined a bounded number of
// times and lexing stays linear however hostile the input.
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const INT = /-?[0-9]+/y;
const DATE_TIME =
  /([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?([Zz]|([+-])([0-9]{2}):([0-9]{2})))?/y;
/** A number or date glued to one of these (`12abc`, `2026-01-02T03`) is malformed, not two tokens. */
const GLUED = /[A-Za-z0-9_.:+-]/;
const SPACE = /[ \t\r\n]/;

/** Pulls tokens one at a time, so the first problem in reading order is the one reported. */
export class Lexer {
  private offset = 0;
  private lookahead: Token | undefined;
  /** PostgreSQL text cannot hold NUL; found once up front so each string checks in O(1). */
  private readonly firstNul: number;

  constructor(private readonly text: string) {
    this.firstNul = text.indexOf("\u0000");
  }

  peek(): Token {
    this.lookahead ??= this.read();
    return this.lookahead;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  private read(): Token {
    const text = this.text;
    while (this.offset < text.length && SPACE.test(text.charAt(this.offset))) this.offset++;
    const pos = this.offset;
    if (pos >= text.length) return { kind: "end", pos: text.length, text: "" };
    const ch = text.charAt(pos);
    if (ch === "(" || ch === ")" || ch === ",") {
      this.offset++;
      return { kind: ch, pos, text: ch };
    }
    if (ch === "'") return this.readString(pos);
    const word = this.match(WORD, pos);
    if (word) {
      this.offset = pos + word[0].length;
      return { kind: "word", pos, text: word[0] };
    }
    if (/[0-9-]/.test(ch)) return this.readNumberOrDate(pos);
    throw invalid(pos, `unexpected character ${showChar(text, pos)}`);
  }

  private readString(pos: number): Token {
    const text = this.text;
    const parts: string[] = [];
    let from = pos + 1;
    for (;;) {
      const quote = text.indexOf("'", from);
      if (quote < 0) {
        throw invalid(
          pos,
          "this string is not closed; end it with ' (write '' for a quote inside)",
        );
      }
      parts.push(text.slice(from, quote));
      if (this.firstNul > pos && this.firstNul < quote) {
        throw invalid(this.firstNul, "text cannot contain the NUL character");
      }
      if (text.charAt(quote + 1) !== "'") {
        this.offset = quote + 1;
        return { kind: "string", pos, text: text.slice(pos, this.offset), value: parts.join("") };
      }
      parts.push("'");
      from = quote + 2;
    }
  }

  private readNumberOrDate(pos: number): Token {
    const date = this.match(DATE_TIME, pos);
    const match = date ?? this.match(INT, pos);
    if (!match || GLUED.test(this.text.charAt(pos + match[0].length))) {
      throw invalid(
        pos,
        "malformed number or date-time; expected e.g. 42, 2026-01-02 or 2026-01-02T03:04:05Z",
      );
    }
    this.offset = pos + match[0].length;
    const text = match[0];
    if (!date) return { kind: "int", pos, text, value: Number(text) };
    return { kind: "datetime", pos, text, value: checkedDateTime(date, pos) };
  }

  private match(pattern: RegExp, pos: number): RegExpExecArray | null {
    pattern.lastIndex = pos;
    return pattern.exec(this.text);
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Rejects dates that do not exist (2026-02-31, hour 24) and returns text PostgreSQL reads exactly. */
function checkedDateTime(m: RegExpExecArray, pos: number): string {
  const n = (group: number) => Number(m[group] ?? 0);
  const [year, month, day] = [n(1), n(2), n(3)];
  const leapDay = month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0) ? 1 : 0;
  const valid =
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (DAYS_IN_MONTH[month - 1] ?? 0) + leapDay &&
    n(4) <= 23 &&
    n(5) <= 59 &&
    n(6) <= 59 &&
    // PostgreSQL refuses offsets beyond 15:59; real ones stay within ±14:00.
    n(9) <= 15 &&
    n(10) <= 59;
  if (!valid) throw invalid(pos, `'${m[0]}' is not a valid date or date-time`);
  return m[4] === undefined ? `${m[0]}T00:00:00Z` : m[0].toUpperCase();
}
