// The bench database: created (or reset) on the given PostgreSQL server as `users_bench`,
// migrated with the service's own migrations, seeded fast with generate_series, and reused by later
// runs while it holds the same seed. Every statement here touches `users_bench` only.

import { hash } from "@node-rs/argon2";
import pg from "pg";
import { migrateToLatest, openDatabase } from "../../db/open.ts";
import { ARGON2_OPTIONS } from "../../server/passwords/hash.ts";
import {
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  ORGANIZATIONS,
  TRANSLIT_FROM,
  TRANSLIT_TO,
} from "./names.ts";
import { SIGNUP_DOMAIN } from "./scenarios.ts";

export const BENCH_DB = "users_bench";
/** Bump when the seed changes: a database seeded by another version is reset. */
const SEED_VERSION = "v1";
/** The password of every seeded user (it passes the service's policy, for signups too). */
export const BENCH_PASSWORD = "basalt-quiver-ozone-lattice-73";
export const BENCH_ADMIN_EMAIL = "bench-admin@bench.test";
const CHUNK = 100_000;

type Log = (line: string) => void;

/** The server's admin database URL and the bench database's URL, from the URL given. */
export function benchUrls(serverUrl: string): { adminUrl: string; benchUrl: string } {
  const admin = new URL(serverUrl);
  if (admin.pathname === `/${BENCH_DB}` || admin.pathname === "/" || admin.pathname === "") {
    admin.pathname = "/postgres";
  }
  const bench = new URL(serverUrl);
  bench.pathname = `/${BENCH_DB}`;
  return { adminUrl: admin.toString(), benchUrl: bench.toString() };
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const seedMark = (users: number) => `users-api bench seed ${SEED_VERSION} n=${users} complete`;

export type PreparedDatabase = { benchUrl: string; reused: boolean; seconds: number };

/**
 * Makes `users_bench` hold exactly the seed for `users` users: reuses it when its mark says so
 * (after applying any new migration), otherwise drops, recreates, migrates and seeds it.
 */
export async function prepareDatabase(
  serverUrl: string,
  users: number,
  options: { reset: boolean; log: Log },
): Promise<PreparedDatabase> {
  const started = performance.now();
  const { adminUrl, benchUrl } = benchUrls(serverUrl);
  const mark = await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ mark: string | null }>(
      "select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1",
      [BENCH_DB],
    );
    return rows[0] === undefined ? undefined : (rows[0].mark ?? "");
  });
  const reusable = !options.reset && mark === seedMark(users);
  if (!reusable) {
    options.log(
      mark === undefined
        ? `creating database ${BENCH_DB}`
        : `resetting database ${BENCH_DB} (${options.reset ? "--reset" : `it holds ${mark || "an unfinished seed"}`})`,
    );
    await withClient(adminUrl, async (client) => {
      await client.query(`drop database if exists ${BENCH_DB} with (force)`);
      await client.query(`create database ${BENCH_DB}`);
    });
  }
  // Migrations run on reuse too, so a new migration (an index, say) is in what gets measured.
  const database = await openDatabase({ databaseUrl: benchUrl, dataDir: "memory://" });
  try {
    await migrateToLatest(database.db);
  } finally {
    await database.close();
  }
  if (reusable) {
    options.log(`reusing database ${BENCH_DB}: it already holds the seed of ${fmt(users)} users`);
  } else {
    await withClient(benchUrl, (client) => seed(client, users, options.log));
    await withClient(adminUrl, (client) =>
      client.query(`comment on database ${BENCH_DB} is '${seedMark(users)}'`),
    );
  }
  return { benchUrl, reused: reusable, seconds: (performance.now() - started) / 1000 };
}

const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * The seeded users: realistic, varied names and emails (common names more frequent), 85% active,
 * the rest pending, invited, suspended or (2%) soft-deleted, 1% Admins and 0.1% AppAdmins,
 * created over the last two years. All share one argon2id hash of BENCH_PASSWORD made with the
 * service's parameters (so logins never rehash). Every value derives from the row number, so a
 * seed is the same every time.
 */
const INSERT_USERS = `
insert into users (email, username, first_name, last_name, role, status, email_verified,
  password_hash, last_login_at, created_at, updated_at, deleted_at, status_before_delete)
select
  (case v.h1 % 5
     when 0 then v.af || '.' || v.al
     when 1 then left(v.af, 1) || v.al
     when 2 then v.af || v.al
     when 3 then v.af || '_' || v.al
     else v.al || '.' || v.af end) || v.g::text || '@' || v.domain,
  left(v.af || '.' || v.al, 22) || '.' || v.g::text,
  v.fn,
  v.ln,
  case when v.h2 % 1000 = 0 then 'AppAdmin' when v.h2 % 1000 <= 10 then 'Admin' else 'User' end,
  v.status,
  v.status in ('active', 'suspended', 'deleted') or (v.status = 'pending' and v.h1 % 7 = 0),
  case when v.status = 'invited' then null else $6::text end,
  case when v.status in ('active', 'suspended', 'deleted')
    then v.created + (now() - v.created) * ((v.h4 % 1000) / 1000.0) end,
  v.created,
  v.updated,
  case when v.status = 'deleted' then v.updated end,
  case when v.status = 'deleted' then 'active' end
from (
  select r.*,
    least(now(), r.created + make_interval(secs => r.h4 % (86400 * 90))) as updated,
    translate(lower(r.fn), $7, $8) as af,
    translate(lower(r.ln), $7, $8) as al
  from (
    select g, h1, h2, h4,
      ($3::text[])[1 + floor(cardinality($3::text[]) * power(h5 / 2147483648.0, 2))::int] as fn,
      ($4::text[])[1 + floor(cardinality($4::text[]) * power(h6 / 2147483648.0, 2))::int] as ln,
      ($5::text[])[1 + h1 % cardinality($5::text[])] as domain,
      case when h3 % 100 < 85 then 'active' when h3 % 100 < 91 then 'pending'
           when h3 % 100 < 95 then 'invited' when h3 % 100 < 98 then 'suspended'
           else 'deleted' end as status,
      now() - make_interval(secs => h7 % (730 * 86400)) as created
    from (
      select g,
        hashint8(g::bigint * 8 + 1) & 2147483647 as h1,
        hashint8(g::bigint * 8 + 2) & 2147483647 as h2,
        hashint8(g::bigint * 8 + 3) & 2147483647 as h3,
        hashint8(g::bigint * 8 + 4) & 2147483647 as h4,
        hashint8(g::bigint * 8 + 5) & 2147483647 as h5,
        hashint8(g::bigint * 8 + 6) & 2147483647 as h6,
        hashint8(g::bigint * 8 + 7) & 2147483647 as h7
      from generate_series($1::int, $2::int) as g
    ) h
  ) r
) v`;

async function seed(client: pg.Client, users: number, log: Log): Promise<void> {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  await client.query("set synchronous_commit = off");
  await client.query("set maintenance_work_mem = '256MB'");
  const passwordHash = await hash(BENCH_PASSWORD, ARGON2_OPTIONS);

  // Secondary indexes are dropped during the load and rebuilt after it from their own
  // definitions (whatever the migrations made them): building once is far faster than 1M updates.
  const { rows: indexes } = await client.query<{ name: string; definition: string }>(
    `select i.relname as name, pg_get_indexdef(i.oid) as definition
       from pg_index x join pg_class i on i.oid = x.indexrelid
      where x.indrelid = 'users'::regclass
        and not exists (select 1 from pg_constraint c where c.conindid = i.oid)`,
  );
  for (const index of indexes) await client.query(`drop index ${quoteIdent(index.name)}`);

  log(`seeding ${fmt(users)} users (one argon2id hash for all, ${CHUNK / 1000}k rows a statement)`);
  for (let from = 1; from <= users; from += CHUNK) {
    const to = Math.min(users, from + CHUNK - 1);
    await client.query(INSERT_USERS, [
      from,
      to,
      FIRST_NAMES,
      LAST_NAMES,
      EMAIL_DOMAINS,
      passwordHash,
      TRANSLIT_FROM,
      TRANSLIT_TO,
    ]);
    log(`  users ${fmt(to)} / ${fmt(users)} (${elapsed()})`);
  }
  await client.query(
    `insert into users (email, username, first_name, last_name, role, status, email_verified,
       password_hash)
     values ($1, 'bench-admin', 'Bench', 'Admin', 'AppAdmin', 'active', true, $2)`,
    [BENCH_ADMIN_EMAIL, passwordHash],
  );
  for (const index of indexes) {
    log(`  index ${index.name} (${elapsed()})`);
    await client.query(index.definition);
  }

  const { rows: bad } = await client.query<{ n: number }>(
    `select count(*)::int as n from users
      where username !~ '^[a-z0-9._-]{3,32}$' or email !~ '^[a-z0-9._-]+@[a-z0-9.-]+$'`,
  );
  if ((bad[0]?.n ?? 0) > 0) throw new Error(`seed: ${bad[0]?.n} users with a malformed username`);

  log(`  organizations and memberships (${elapsed()})`);
  const orgIds: number[] = [];
  for (const [name, parent] of ORGANIZATIONS) {
    const { rows } = await client.query<{ id: number }>(
      "insert into organizations (name, parent_id) values ($1, $2) returning id",
      [name, parent >= 0 ? orgIds[parent] : null],
    );
    orgIds.push(rows[0]?.id ?? 0);
  }
  // One user in 25 belongs to an organization (one in ten of them as its Admin).
  await client.query(
    `insert into memberships (user_id, organization_id, role)
     select id, ($1::int[])[1 + (hashint4(id) & 2147483647) % cardinality($1::int[])],
            case when hashint4(id + 1) % 10 = 0 then 'Admin' else 'Member' end
       from users where id % 25 = 0 and deleted_at is null`,
    [orgIds],
  );
  log(`  vacuum analyze (${elapsed()})`);
  await client.query("vacuum (analyze) users, organizations, memberships");
  log(`seeded in ${elapsed()}`);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Tables only runs write to (sessions, tokens, mail, audit, rate counters): emptied per run. */
const RUN_TABLES = [
  "refresh_tokens",
  "sessions",
  "email_tokens",
  "mail_outbox",
  "audit_log",
  "rate_limits",
];

/**
 * Leaves the database as a fresh seed for this run: no sessions, tokens, mail, audit entries or
 * rate counters, no users from earlier runs' signups. Users patched by earlier runs keep their
 * changed first name (one of the seed's first names).
 */
export async function cleanUp(benchUrl: string): Promise<void> {
  await withClient(benchUrl, async (client) => {
    // What earlier runs left in the tables the bench writes to (those this schema has).
    const { rows } = await client.query<{ name: string }>(
      "select tablename as name from pg_tables where schemaname = 'public' and tablename = any($1)",
      [RUN_TABLES],
    );
    if (rows.length > 0) {
      await client.query(`truncate ${rows.map((row) => quoteIdent(row.name)).join(", ")} cascade`);
    }
    await client.query("delete from users where email like $1", [`%@${SIGNUP_DOMAIN}`]);
    await client.query("vacuum (analyze) users");
  });
}

export type Fixtures = {
  adminId: number;
  adminTokenVersion: number;
  adminSessionId: number;
  idRange: [number, number];
  users: number;
  passwordHash: string;
  usernames: string[];
  emails: string[];
  loginEmails: string[];
};

/** The bench caller's session, and samples of users for the requests. */
export async function loadFixtures(benchUrl: string, sampleSize: number): Promise<Fixtures> {
  return withClient(benchUrl, async (client) => {
    const { rows: admins } = await client.query<{
      id: number;
      token_version: number;
      password_hash: string;
    }>("select id, token_version, password_hash from users where email = $1", [BENCH_ADMIN_EMAIL]);
    const admin = admins[0];
    if (!admin) throw new Error(`${BENCH_DB} has no bench admin; run with --reset`);
    const { rows: sessions } = await client.query<{ id: number }>(
      `insert into sessions (user_id, user_agent, ip, expires_at)
       values ($1, 'users-api bench', '127.0.0.1', now() + interval '1 day') returning id`,
      [admin.id],
    );
    const { rows: range } = await client.query<{ min: number; max: number; n: number }>(
      "select min(id) as min, max(id) as max, count(*)::int as n from users where id < $1",
      [admin.id],
    );
    const { min, max, n } = range[0] ?? { min: 0, max: 0, n: 0 };
    if (n === 0 || max - min + 1 !== n) {
      throw new Error(`${BENCH_DB}: seeded ids are not contiguous; run with --reset`);
    }
    const ids = Array.from({ length: sampleSize }, () => min + Math.floor(Math.random() * n));
    const { rows: sample } = await client.query<{
      username: string;
      email: string;
      status: string;
    }>(
      "select username, email, status from users where id = any($1::int[]) and deleted_at is null",
      [ids],
    );
    return {
      adminId: admin.id,
      adminTokenVersion: admin.token_version,
      adminSessionId: sessions[0]?.id ?? 0,
      idRange: [min, max],
      users: n,
      passwordHash: admin.password_hash,
      usernames: sample.map((row) => row.username),
      emails: sample.map((row) => row.email),
      loginEmails: sample.filter((row) => row.status === "active").map((row) => row.email),
    };
  });
}

/**
 * Refresh tokens `${prefix}${n}` for n in [from, to), each in a session of its own (one family per
 * token, as after a login) of a random active user; only their SHA-256 is stored, as the service
 * stores them.
 */
export async function insertRefreshTokens(
  benchUrl: string,
  prefix: string,
  from: number,
  to: number,
): Promise<void> {
  await withClient(benchUrl, async (client) => {
    await client.query("set synchronous_commit = off");
    await client.query(
      `with users_ as (
         select array_agg(id) as ids from (
           select id from users where status = 'active' and deleted_at is null limit 10000) a),
       s as (
         insert into sessions (user_id, user_agent, ip, expires_at)
         select ids[1 + (hashint4(n) & 2147483647) % cardinality(ids)], 'users-api bench',
                '127.0.0.1', now() + interval '1 day'
           from users_, generate_series($2::int, $3::int - 1) as n
         returning id)
       insert into refresh_tokens (session_id, token_hash)
       select s.id, translate(rtrim(encode(sha256(convert_to($1 || (s.rn + $2 - 1)::text, 'UTF8')),
                                           'base64'), '='), '+/', '-_')
         from (select id, row_number() over (order by id) as rn from s) s`,
      [prefix, from, to],
    );
  });
}

export async function serverVersion(benchUrl: string): Promise<string> {
  return withClient(benchUrl, async (client) => {
    const { rows } = await client.query<{ v: string }>(
      "select current_setting('server_version') as v",
    );
    return rows[0]?.v ?? "unknown";
  });
}
