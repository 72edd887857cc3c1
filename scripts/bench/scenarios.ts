// The bench's scenarios: what each sends, with how many connections, and what its figure is
// compared with. Shared by the orchestrator (run.ts: names, single-client timings) and the load
// process (load.ts: autocannon's setupRequest), so both send exactly the same requests.

/** What the orchestrator hands the load process once (written to a JSON file). */
export type LoadData = {
  /** `Bearer …` of the bench AppAdmin, minted by the bench with the service's key. */
  authorization: string;
  /** Every id in [min, max] is a seeded user. */
  idRange: [number, number];
  /** Non-deleted users (username, email), sampled at random. */
  usernames: string[];
  emails: string[];
  /** Active users' emails, for logins. */
  loginEmails: string[];
  /** Password of every seeded user, and the argon2id hash stored for it. */
  password: string;
  passwordHash: string;
  firstNames: string[];
  lastNames: string[];
  lastNamePrefixes: string[];
  emailFragments: string[];
  /** Path and query of nextLinks found by walking to deep pages. */
  deepLinks: string[];
  /** Refresh tokens are `${refreshPrefix}${n}`; each run gets its own range of n. */
  refreshPrefix: string;
  /** Signup emails are made unique with this tag and the run's sequence range. */
  signupTag: string;
};

/** Per-run parameters: ranges of one-use values (refresh tokens, signup emails). */
export type RunParams = { seqStart: number; seqEnd: number };

export type BenchRequest = {
  method: "GET" | "POST" | "PATCH";
  path: string;
  headers: Record<string, string>;
  body?: string;
};

export type Compare = "baseline" | "argon2-verify" | "argon2-hash";

/** What the load process needs to send a scenario's requests. */
export type LoadScenario = {
  name: string;
  /** Connections; undefined = the bench's `--connections` (50). */
  connections?: number;
  /** True when each request uses up a value (token, email) from the run's range. */
  consumes?: boolean;
  /** Makes a request generator for one run. */
  requests: (data: LoadData, run: RunParams) => () => BenchRequest;
};

export type Scenario = LoadScenario & {
  /** Compared with the baseline server, or with raw argon2 throughput at the same concurrency. */
  compare: Compare;
  /** Also timed with one client, 20 sequential requests (the list scenarios). */
  singleClient?: boolean;
};

export const SIGNUP_DOMAIN = "signup.bench.test";

/** Calls in the streamed-batch scenario, and its procedure list (the baseline serves that path). */
export const STREAM_BATCH = 4;
export const STREAM_BATCH_PATHS = Array(STREAM_BATCH).fill("users.get").join(",");

const pick = <T>(items: readonly T[]): T => {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("bench: empty sample");
  return item;
};
const randomId = ([min, max]: [number, number]) =>
  min + Math.floor(Math.random() * (max - min + 1));
const json = { "content-type": "application/json" };
const authed = (data: LoadData) => ({ authorization: data.authorization });
const q = encodeURIComponent;
const listPath = (filter: string) => `/api/users?$filter=${q(filter)}`;

/** A counter over the run's range that wraps rather than run past it (a reuse then shows as non-2xx). */
function sequence(run: RunParams): () => number {
  let next = run.seqStart;
  return () => {
    const n = next;
    next = next + 1 >= run.seqEnd ? run.seqStart : next + 1;
    return n;
  };
}

const login = (connections: number): Scenario => ({
  name: `login-c${connections}`,
  compare: "argon2-verify",
  connections,
  requests: (data) => () => ({
    method: "POST",
    path: "/api/auth/token",
    headers: json,
    body: JSON.stringify({ email: pick(data.loginEmails), password: data.password }),
  }),
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "get-by-id-rest",
    compare: "baseline",
    requests: (data) => () => ({
      method: "GET",
      path: `/api/users/${randomId(data.idRange)}`,
      headers: authed(data),
    }),
  },
  {
    name: "get-by-id-trpc",
    compare: "baseline",
    requests: (data) => () => ({
      method: "GET",
      path: `/trpc/users.get?input=${q(JSON.stringify({ id: String(randomId(data.idRange)) }))}`,
      headers: authed(data),
    }),
  },
  {
    // What httpBatchStreamLink, tRPC's default link, sends: four gets in one streamed batch.
    name: "get-by-id-trpc-stream",
    compare: "baseline",
    requests: (data) => () => ({
      method: "GET",
      path: `/trpc/${STREAM_BATCH_PATHS}?batch=1&input=${q(
        JSON.stringify(
          Object.fromEntries(
            Array.from({ length: STREAM_BATCH }, (_, i) => [
              i,
              { id: String(randomId(data.idRange)) },
            ]),
          ),
        ),
      )}`,
      headers: { ...authed(data), "trpc-accept": "application/jsonl" },
    }),
  },
  {
    name: "get-by-name-rest",
    compare: "baseline",
    requests: (data) => () => ({
      method: "GET",
      path: `/api/users/${q(pick(data.usernames))}`,
      headers: authed(data),
    }),
  },
  {
    name: "list-email-eq",
    compare: "baseline",
    singleClient: true,
    requests: (data) => () => ({
      method: "GET",
      path: listPath(`email eq '${pick(data.emails).replaceAll("'", "''")}'`),
      headers: authed(data),
    }),
  },
  {
    name: "list-lastname-startswith-count",
    compare: "baseline",
    singleClient: true,
    requests: (data) => () => ({
      method: "GET",
      path: listPath(`startswith(lastName,'${pick(data.lastNamePrefixes)}')`),
      headers: authed(data),
    }),
  },
  {
    name: "list-email-contains",
    compare: "baseline",
    singleClient: true,
    requests: (data) => () => ({
      method: "GET",
      path: listPath(`contains(email,'${pick(data.emailFragments)}')`),
      headers: authed(data),
    }),
  },
  {
    name: "list-deep-nextlink",
    compare: "baseline",
    singleClient: true,
    requests: (data) => () => ({
      method: "GET",
      path: pick(data.deepLinks),
      headers: authed(data),
    }),
  },
  {
    name: "patch-user",
    compare: "baseline",
    requests: (data) => () => ({
      method: "PATCH",
      path: `/api/users/${randomId(data.idRange)}`,
      headers: { ...authed(data), ...json },
      body: JSON.stringify({ firstName: pick(data.firstNames) }),
    }),
  },
  login(4),
  login(50),
  {
    name: "signup",
    compare: "argon2-hash",
    consumes: true,
    requests: (data, run) => {
      const next = sequence(run);
      return () => ({
        method: "POST",
        path: "/api/users/signup",
        headers: json,
        body: JSON.stringify({
          email: `su${data.signupTag}${String(next()).padStart(8, "0")}@${SIGNUP_DOMAIN}`,
          password: data.password,
          firstName: pick(data.firstNames),
          lastName: pick(data.lastNames),
        }),
      });
    },
  },
  {
    name: "refresh",
    compare: "baseline",
    consumes: true,
    requests: (data, run) => {
      const next = sequence(run);
      return () => ({
        method: "POST",
        path: "/api/auth/refresh",
        headers: json,
        body: JSON.stringify({ refreshToken: `${data.refreshPrefix}${next()}` }),
      });
    },
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

/**
 * The physical limit beside the service (limit-server.ts), measured in the same run and compared
 * with nothing: what HTTP alone costs, and HTTP with one SELECT by primary key.
 */
export const LIMIT_SCENARIOS: readonly LoadScenario[] = [
  {
    name: "limit-constant",
    requests: () => () => ({ method: "GET", path: "/constant", headers: {} }),
  },
  {
    name: "limit-select-by-id",
    requests: (data) => () => ({
      method: "GET",
      path: `/users/${randomId(data.idRange)}`,
      headers: {},
    }),
  },
];
