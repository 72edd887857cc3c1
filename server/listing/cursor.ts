import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  type CursorPosition,
  type CursorValue,
  FILTER_FIELDS,
  type SortKey,
} from "../../db/listing-query.ts";
import { AppError } from "../errors/api-errors.ts";

export type CursorKey = Uint8Array | string;
/** What a cursor is bound to: it only continues the listing it came from. */
export type CursorScope = { order: readonly SortKey[]; filter: string };

/** Where the next page starts, and the count the listing's first page took. */
export type CursorState = { position: CursorPosition; count: number };

type Payload = { o: string; f: string; v: unknown[]; c: number };

// Real cursors (at most four column values) stay well below this; longer input is refused unread.
const MAX_CURSOR_LENGTH = 4000;

/**
 * `base64url(JSON).base64url(HMAC-SHA256)`: opaque to clients, unforgeable without the key. It
 * carries the first page's count so later pages report it without counting again (as Microsoft
 * Graph does: the count is as of the first page).
 */
export function encodeCursor(
  scope: CursorScope,
  next: { values: CursorValue[]; count: number },
  key: CursorKey,
): string {
  const payload: Payload = {
    o: orderSignature(scope.order),
    f: filterHash(scope.filter),
    v: next.values,
    c: next.count,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${body}.${sign(body, key)}`;
}

/**
 * The values of the row to continue after, and the count to report. Anything forged, altered,
 * garbled or made for another filter or order is refused with the same INVALID_FILTER error and
 * nothing more to learn.
 */
export function decodeCursor(token: string, scope: CursorScope, key: CursorKey): CursorState {
  const parts = token.length <= MAX_CURSOR_LENGTH ? token.split(".") : [];
  const [body, signature] = parts;
  if (parts.length !== 2 || !body || !signature || !sameText(signature, sign(body, key))) {
    throw expired();
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw expired();
  }
  if (
    !isPayload(payload) ||
    payload.o !== orderSignature(scope.order) ||
    payload.f !== filterHash(scope.filter)
  ) {
    throw expired();
  }
  const position = positionOf(payload.v, scope.order);
  if (!position) throw expired();
  return { position, count: payload.c };
}

function expired(): AppError {
  return new AppError("INVALID_FILTER", "invalid or expired cursor");
}

function sign(body: string, key: CursorKey): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}

/** Compares the signatures as text: base64url decoding is lenient, text comparison is not. */
function sameText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function orderSignature(order: readonly SortKey[]): string {
  return order.map((key) => `${key.field} ${key.direction}`).join(",");
}

/** A hash keeps the cursor short however long the filter. */
function filterHash(filter: string): string {
  return createHash("sha256").update(filter).digest("base64url");
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== "object" || value === null) return false;
  const { o, f, v, c } = value as Record<string, unknown>;
  return (
    typeof o === "string" &&
    typeof f === "string" &&
    Array.isArray(v) &&
    Number.isSafeInteger(c) &&
    (c as number) >= 0
  );
}

/** Pairs values with order keys, checking each against its column's type so SQL accepts it. */
function positionOf(values: unknown[], order: readonly SortKey[]): CursorPosition | undefined {
  if (values.length !== order.length) return undefined;
  const position: CursorPosition = [];
  for (const [i, key] of order.entries()) {
    const value = values[i];
    if (!fits(key, value)) return undefined;
    position.push({ key, value });
  }
  return position;
}

function fits(key: SortKey, value: unknown): value is CursorValue {
  switch (FILTER_FIELDS[key.field].type) {
    case "int":
      return Number.isSafeInteger(value);
    case "bool":
      return typeof value === "boolean";
    case "datetime":
      return typeof value === "string" && !Number.isNaN(Date.parse(value));
    default:
      return typeof value === "string";
  }
}
