// The baseline: a minimal, hand-written Fastify + pg server doing, for each operation the bench
// measures, what any straightforward implementation of the API (API.md) must do, and nothing else:
// verify the same JWT with the same key (jose, the key imported once as a CryptoKey), read the caller's status,
// token version and session in the same one primary-key query, check the role, run the same SQL
// the service runs (baseline-sql.ts), map the row to the API's shape and JSON.stringify it.
// No zod, no tRPC, no Kysely. Callers other than Admin/AppAdmin get 501 on listings: the bench
// only calls as an AppAdmin.
//
// Settings (environment): DATABASE_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, PORT, HOST,
// PUBLIC_URL, DB_POOL_MAX, ACCESS_TOKEN_TTL (same meaning and defaults as the service's), and
// BENCH_CURSOR_KEY (base64url) for list cursors.

import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import { jwtVerify, SignJWT } from "jose";
import pg from "pg";
import {
  AUTH_STATE,
  LIST,
  PATCH_FIRST_NAME,
  READY,
  REFRESH,
  USER_BY_ID,
  USER_BY_USERNAME,
} from "./baseline-sql.ts";
import { STREAM_BATCH, STREAM_BATCH_PATHS } from "./scenarios.ts";

const env = process.env;
const databaseUrl = env.DATABASE_URL;
const jwtSecret = env.JWT_SECRET;
if (!databaseUrl || !jwtSecret) {
  console.error("baseline: DATABASE_URL and JWT_SECRET are required");
  process.exit(2);
}
const port = Number(env.PORT ?? 3100);
const host = env.HOST ?? "127.0.0.1";
const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
const issuer = env.JWT_ISSUER ?? "users-api";
const audience = env.JWT_AUDIENCE ?? "users-api";
const accessTtl = Number(env.ACCESS_TOKEN_TTL ?? 900);

// The service's pool settings (db/open.ts with the config defaults).
const pool = new pg.Pool({
  connectionString: databaseUrl,
  max: Number(env.DB_POOL_MAX ?? 10),
  connectionTimeoutMillis: 3000,
  statement_timeout: 5000,
});
pool.on("error", () => {});

const secret = new TextEncoder().encode(jwtSecret);
// Imported once as a CryptoKey: jose's verify and sign then use it as is (a KeyObject would be
// turned into a CryptoKey again on every call).
const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
  "sign",
  "verify",
]);
const kid = createHash("sha256").update(secret).digest("base64url").slice(0, 16);
// The service derives its list-cursor key from the signing key (server/auth/keyring.ts); the
// bench passes the service's own key so cursors from either server work on both.
const cursorKey = env.BENCH_CURSOR_KEY
  ? Buffer.from(env.BENCH_CURSOR_KEY, "base64url")
  : createHmac("sha256", secret).update("derived").digest();

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const unauthenticated = () =>
  new HttpError(401, "UNAUTHENTICATED", "Invalid or expired access token");
const notFound = () => new HttpError(404, "USER_NOT_FOUND", "User not found");
const badRequest = (message: string, code = "VALIDATION_ERROR") =>
  new HttpError(400, code, message);

type Role = "User" | "Admin" | "AppAdmin";
type Caller = { id: number; role: Role };
const isAdmin = (caller: Caller) => caller.role === "Admin" || caller.role === "AppAdmin";

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const nonNegativeInt = (v: unknown) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

async function authenticate(authorization: string | undefined): Promise<Caller> {
  const token = BEARER.exec(authorization ?? "")?.[1];
  if (!token) throw new HttpError(401, "UNAUTHENTICATED", "A bearer token is required");
  let userId: number | undefined;
  let sessionId: number | undefined;
  let version: number | undefined;
  try {
    const { payload, protectedHeader } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      typ: "at+jwt",
      issuer,
      audience,
      requiredClaims: ["sub", "jti", "iat", "exp"],
    });
    if (protectedHeader.kid !== kid) throw unauthenticated();
    userId = /^[1-9]\d{0,9}$/.test(payload.sub ?? "") ? Number(payload.sub) : undefined;
    sessionId = nonNegativeInt(payload.sid);
    version = nonNegativeInt(payload.ver);
  } catch {
    throw unauthenticated();
  }
  if (!userId || !sessionId || version === undefined) throw unauthenticated();
  const { rows } = await pool.query(AUTH_STATE, [sessionId, userId]);
  const state = rows[0];
  if (
    !state ||
    state.status === "suspended" ||
    state.status === "deleted" ||
    state.token_version !== version ||
    !state.session_expires_at ||
    state.session_expires_at <= new Date()
  ) {
    throw unauthenticated();
  }
  return { id: state.id, role: state.role };
}

type UserRow = {
  id: number;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  status: string;
  role: Role;
  email_verified: boolean;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
  token_version?: number;
};

const toUser = (row: UserRow) => ({
  id: row.id,
  email: row.email,
  username: row.username,
  firstName: row.first_name,
  lastName: row.last_name,
  status: row.status,
  role: row.role,
  emailVerified: row.email_verified,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  lastLoginAt: row.last_login_at?.toISOString() ?? null,
});

const sendJson = (reply: FastifyReply, status: number, value: unknown) =>
  reply.code(status).type("application/json; charset=utf-8").send(JSON.stringify(value));

/** GET /api/users/{id} and users.get: by id when all digits, else by username. */
async function getUser(caller: Caller, idOrName: unknown) {
  if (typeof idOrName !== "string" || idOrName.length < 1 || idOrName.length > 64) {
    throw badRequest("id must be 1 to 64 characters");
  }
  const id = /^\d{1,10}$/.test(idOrName) ? Number(idOrName) : undefined;
  const { rows } =
    id !== undefined && id <= 2147483647
      ? await pool.query<UserRow>(USER_BY_ID, [id])
      : await pool.query<UserRow>(USER_BY_USERNAME, [idOrName.toLowerCase()]);
  const user = rows[0];
  // Admins see everyone; the bench calls as one (a User would need the visibility query).
  if (!user || (!isAdmin(caller) && caller.id !== user.id)) throw notFound();
  return toUser(user);
}

// ---- listing: the filter shapes the bench sends, the same cursor format as the service -------

const FILTERS: [RegExp, readonly [string, string], (value: string) => string][] = [
  [/^email eq '((?:[^']|'')*)'$/, LIST.emailEq, (v) => v],
  [
    /^startswith\(lastName,'((?:[^']|'')*)'\)$/,
    LIST.lastNameStartsWith,
    (v) => `${escapeLike(v)}%`,
  ],
  [/^contains\(email,'((?:[^']|'')*)'\)$/, LIST.emailContains, (v) => `%${escapeLike(v)}%`],
];
const escapeLike = (v: string) => v.replace(/[\\%_]/g, "\\$&");

const sign = (body: string) => createHmac("sha256", cursorKey).update(body).digest("base64url");
const filterHash = (filter: string) => createHash("sha256").update(filter).digest("base64url");

/** The service's cursor: the last id, and the first page's count that later pages report. */
type Cursor = { lastId: number; count: number };

function encodeCursor(filter: string, cursor: Cursor): string {
  const body = Buffer.from(
    JSON.stringify({ o: "id asc", f: filterHash(filter), v: [cursor.lastId], c: cursor.count }),
  ).toString("base64url");
  return `${body}.${sign(body)}`;
}

function decodeCursor(token: string, filter: string): Cursor {
  const invalid = () => badRequest("invalid or expired cursor", "INVALID_FILTER");
  const [body, signature, extra] = token.length <= 4000 ? token.split(".") : [];
  if (!body || !signature || extra !== undefined) throw invalid();
  const expected = Buffer.from(sign(body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let payload: { o?: unknown; f?: unknown; v?: unknown; c?: unknown };
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const last = Array.isArray(payload.v) ? payload.v[0] : undefined;
  const { o, f, c } = payload;
  if (o !== "id asc" || f !== filterHash(filter) || !Number.isSafeInteger(last)) throw invalid();
  if (!Number.isSafeInteger(c) || (c as number) < 0) throw invalid();
  return { lastId: last as number, count: c as number };
}

async function listUsers(caller: Caller, query: Record<string, string | undefined>) {
  if (!isAdmin(caller))
    throw new HttpError(501, "NOT_IMPLEMENTED", "the baseline lists for admins only");
  const filter = query.$filter ?? "";
  const top = query.$top === undefined ? 100 : Number(query.$top);
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw badRequest("$top must be 1 to 1000");
  let count: number;
  let found: pg.QueryResult<UserRow & { cursor_values: number[] }>;
  if (query.$skiptoken !== undefined) {
    if (filter !== "") throw new HttpError(501, "NOT_IMPLEMENTED", "cursor with a filter");
    const cursor = decodeCursor(query.$skiptoken, filter);
    count = cursor.count;
    found = await pool.query(LIST.after[0], [cursor.lastId, top + 1]);
  } else {
    const shape = FILTERS.find(([pattern]) => pattern.test(filter));
    const value = shape && pattern(shape[0], filter);
    if (!shape || value === undefined) {
      throw new HttpError(501, "NOT_IMPLEMENTED", "the baseline knows the bench's filters only");
    }
    const [countSql, rowsSql] = shape[1];
    const bound = shape[2](value);
    const counted = await pool.query<{ count: number }>(countSql, [bound]);
    count = counted.rows[0]?.count ?? 0;
    found = await pool.query(rowsSql, [bound, top + 1]);
  }
  const rows = found.rows.slice(0, top);
  const last = rows.at(-1);
  const result: { value: ReturnType<typeof toUser>[]; count: number; nextLink?: string } = {
    value: rows.map(toUser),
    count,
  };
  if (found.rows.length > top && last) {
    const next = new URLSearchParams();
    if (query.$filter !== undefined) next.set("$filter", query.$filter);
    next.set("$top", String(top));
    next.set(
      "$skiptoken",
      encodeCursor(filter, { lastId: last.cursor_values[0] ?? last.id, count }),
    );
    result.nextLink = `${publicUrl}/api/users?${next.toString()}`;
  }
  return result;
}

function pattern(regex: RegExp, text: string): string | undefined {
  return regex.exec(text)?.[1]?.replaceAll("''", "'");
}

// ---- writes ---------------------------------------------------------------------------------

async function patchUser(caller: Caller, idText: string, body: unknown) {
  if (!isAdmin(caller))
    throw new HttpError(403, "UNAUTHORIZED", "Your role does not allow this operation");
  const id = /^\d{1,10}$/.test(idText) ? Number(idText) : 0;
  if (id < 1 || id > 2147483647) throw badRequest("id must be a positive integer");
  const input = body as Record<string, unknown> | null;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw badRequest("The request body must be a JSON object");
  }
  const unknown = Object.keys(input).find((k) => k !== "firstName");
  if (unknown) throw badRequest(`Unrecognized key '${unknown}'`);
  const firstName = typeof input.firstName === "string" ? input.firstName.trim() : undefined;
  if (firstName === undefined || firstName.length < 1 || firstName.length > 100) {
    throw badRequest("firstName must be 1 to 100 characters");
  }
  const { rows } = await pool.query<UserRow>(USER_BY_ID, [id]);
  const target = rows[0];
  if (!target) throw notFound();
  if (target.role !== "User" && caller.role !== "AppAdmin") {
    throw new HttpError(403, "UNAUTHORIZED", "Your role does not allow this operation");
  }
  const client = await pool.connect();
  try {
    const [begin, lock, update, audit, commit] = PATCH_FIRST_NAME;
    await client.query(begin);
    await client.query(lock, [id]);
    const updated = await client.query<UserRow>(update, [firstName, id]);
    // The audit entry the service records for every admin edit (new values only).
    await client.query(audit, [caller.id, "user.edit", id, null, JSON.stringify({ firstName })]);
    await client.query(commit);
    const user = updated.rows[0];
    if (!user) throw notFound();
    return toUser(user);
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const hashToken = (token: string) => createHash("sha256").update(token).digest("base64url");

async function refresh(body: unknown) {
  const presented = (body as { refreshToken?: unknown } | null)?.refreshToken;
  if (typeof presented !== "string" || presented.length < 1 || presented.length > 200) {
    throw badRequest("refreshToken must be 1 to 200 characters");
  }
  const invalid = () => new HttpError(401, "UNAUTHENTICATED", "Invalid or expired refresh token");
  const tokenHash = hashToken(presented);
  const { rows } = await pool.query(REFRESH.find, [tokenHash]);
  const found = rows[0];
  if (!found?.session_active) throw invalid();
  const next = randomBytes(32).toString("base64url");
  const [begin, spend, add, touch, commit] = REFRESH.transaction;
  const client = await pool.connect();
  let spent: boolean;
  try {
    await client.query(begin);
    spent = ((await client.query(spend, [tokenHash])).rowCount ?? 0) > 0;
    if (spent) {
      await client.query(add, [found.session_id, hashToken(next)]);
      await client.query(touch, [found.session_id]);
    }
    await client.query(commit);
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  // Reuse detection (revoking the family) is off the measured path; the bench never reuses.
  if (!spent) throw invalid();
  const user = (await pool.query<UserRow>(USER_BY_ID, [found.user_id])).rows[0];
  if (!user || user.status === "suspended" || user.status === "deleted") throw invalid();
  const accessToken = await new SignJWT({ sid: found.session_id, ver: user.token_version })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(String(user.id))
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${accessTtl}s`)
    .sign(key);
  return { accessToken, tokenType: "Bearer", expiresIn: accessTtl, refreshToken: next };
}

// ---- routes ---------------------------------------------------------------------------------

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
  if (error instanceof HttpError)
    return sendJson(reply, error.status, { code: error.code, message: error.message });
  if (error.statusCode && error.statusCode < 500) {
    return sendJson(reply, error.statusCode, { code: "VALIDATION_ERROR", message: error.message });
  }
  return sendJson(reply, 500, { code: "INTERNAL_ERROR", message: "Internal server error" });
});

app.get("/readyz", async (_req, reply) => {
  await pool.query(READY);
  return sendJson(reply, 200, { status: "ready" });
});

app.get<{ Params: { id: string } }>("/api/users/:id", async (req, reply) => {
  const caller = await authenticate(req.headers.authorization);
  return sendJson(reply, 200, await getUser(caller, req.params.id));
});

app.get<{ Querystring: { input?: string } }>("/trpc/users.get", async (req, reply) => {
  const caller = await authenticate(req.headers.authorization);
  let input: { id?: unknown } | null;
  try {
    input = JSON.parse(req.query.input ?? "null");
  } catch {
    throw badRequest("input is not JSON");
  }
  return sendJson(reply, 200, { result: { data: await getUser(caller, input?.id) } });
});

// httpBatchStreamLink's answer, written by hand: JSON lines, a head with a placeholder per call
// at once, then each call's result as it is ready (nested as tRPC nests it: result, data).
app.get<{ Querystring: { input?: string } }>(`/trpc/${STREAM_BATCH_PATHS}`, async (req, reply) => {
  const caller = await authenticate(req.headers.authorization);
  let inputs: Record<string, { id?: unknown } | undefined>;
  try {
    inputs = JSON.parse(req.query.input ?? "{}");
  } catch {
    throw badRequest("input is not JSON");
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "application/json", vary: "trpc-accept, accept" });
  const head: Record<number, unknown> = {};
  for (let i = 0; i < STREAM_BATCH; i++) head[i] = [[0], [null, 0, i]];
  res.write(`${JSON.stringify(head)}\n`);
  let nextChunk = STREAM_BATCH;
  await Promise.all(
    Array.from({ length: STREAM_BATCH }, async (_, i) => {
      let lines: unknown[];
      try {
        const user = await getUser(caller, inputs[i]?.id);
        const result = nextChunk++;
        const data = nextChunk++;
        lines = [
          [i, 0, [[{ result: 0 }], ["result", 0, result]]],
          [result, 0, [[{ data: 0 }], ["data", 0, data]]],
          [data, 0, [[user]]],
        ];
      } catch (error) {
        const { status, code, message } =
          error instanceof HttpError ? error : { status: 500, code: "INTERNAL_ERROR", message: "" };
        lines = [
          [i, 0, [[{ error: { message, code: -32600, data: { code, httpStatus: status } } }]]],
        ];
      }
      res.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
    }),
  );
  res.end();
});

app.get<{ Querystring: Record<string, string | undefined> }>("/api/users", async (req, reply) => {
  const caller = await authenticate(req.headers.authorization);
  return sendJson(reply, 200, await listUsers(caller, req.query));
});

app.patch<{ Params: { id: string } }>("/api/users/:id", async (req, reply) => {
  const caller = await authenticate(req.headers.authorization);
  return sendJson(reply, 200, await patchUser(caller, req.params.id, req.body));
});

app.post("/api/auth/refresh", async (req, reply) => sendJson(reply, 200, await refresh(req.body)));

const stop = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

await app.listen({ port, host });
