// What the load process's requests need, gathered once before any scenario runs.

import { FIRST_NAMES, LAST_NAMES, TRANSLIT_FROM, TRANSLIT_TO } from "./names.ts";
import type { LoadData, LoadScenario, RunParams } from "./scenarios.ts";
import { BENCH_PASSWORD, type Fixtures, insertRefreshTokens } from "./seed.ts";

export function buildLoadData(
  fixtures: Fixtures,
  authorization: string,
  deepLinks: string[],
  runTag: string,
): LoadData {
  return {
    authorization,
    idRange: fixtures.idRange,
    usernames: fixtures.usernames,
    emails: fixtures.emails,
    loginEmails: fixtures.loginEmails,
    password: BENCH_PASSWORD,
    passwordHash: fixtures.passwordHash,
    firstNames: FIRST_NAMES,
    lastNames: LAST_NAMES,
    lastNamePrefixes: [...new Set(LAST_NAMES.slice(0, 80).map((name) => name.slice(0, 3)))],
    emailFragments: [
      ...new Set(LAST_NAMES.slice(0, 80).map((name) => ascii(name).slice(1, 5))),
    ].filter((f) => f.length === 4),
    deepLinks,
    refreshPrefix: `rt.${runTag}.`,
    signupTag: runTag,
  };
}

const ascii = (text: string) =>
  [...text.toLowerCase()]
    .map((ch) => {
      const at = TRANSLIT_FROM.indexOf(ch);
      return at < 0 ? ch : (TRANSLIT_TO[at] ?? "");
    })
    .join("");

/** nextLinks of pages at 50%, 70% and 90% of the users: a $skip jump, then two nextLink hops. */
export async function walkToDeepPages(
  serviceUrl: string,
  authorization: string,
  users: number,
): Promise<string[]> {
  const links: string[] = [];
  for (const depth of [0.5, 0.7, 0.9]) {
    let path = `/api/users?$top=100&$skip=${Math.floor(users * depth)}`;
    for (let hop = 0; hop < 3; hop++) {
      const response = await fetch(serviceUrl + path, {
        headers: { authorization },
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await response.json()) as { nextLink?: string };
      if (!response.ok || !body.nextLink) {
        throw new Error(
          `walking to a deep page: ${response.status} ${JSON.stringify(body).slice(0, 200)}`,
        );
      }
      const next = new URL(body.nextLink);
      path = next.pathname + next.search;
    }
    links.push(path);
  }
  return links;
}

export type Allocate = (scenario: LoadScenario, durationSec: number) => Promise<RunParams>;

/** Hands out the values a run may use up: refresh tokens (inserted now) or signup emails. */
export function createAllocator(benchUrl: string, data: LoadData): Allocate {
  let seq = 0;
  return async (scenario, durationSec) => {
    if (!scenario.consumes) return { seqStart: 0, seqEnd: 1 };
    // Enough for this run at up to 5,000 req/s; a shortfall wraps around and shows as non-2xx.
    const size = Math.max(1, Math.ceil(durationSec * 5000));
    const params = { seqStart: seq, seqEnd: seq + size };
    seq += size;
    if (scenario.name === "refresh") {
      await insertRefreshTokens(benchUrl, data.refreshPrefix, params.seqStart, params.seqEnd);
    }
    return params;
  };
}
