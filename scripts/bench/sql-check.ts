// Keeps the baseline honest: builds the service in-process on the bench database with a Kysely
// whose `log` hook records every statement, sends it one request of each scenario the baseline
// mirrors (the very request the load sends), and compares what it ran with the statements
// baseline-sql.ts says the baseline runs. Returns one line per difference (none = same SQL).

import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../../db/database.ts";
import { DatabaseEventsPlugin } from "../../db/database-events.ts";
import { buildApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { buildDeps } from "../../server/deps.ts";
import { BASELINE_STATEMENTS } from "./baseline-sql.ts";
import type { LoadData, RunParams, Scenario } from "./scenarios.ts";

export type SqlCheckInput = {
  benchUrl: string;
  env: Record<string, string>;
  data: LoadData;
  scenarios: readonly Scenario[];
  /** Run parameters for scenarios that use up values (a refresh token made for the check). */
  params: (scenario: Scenario) => Promise<RunParams>;
};

export async function checkBaselineSql(input: SqlCheckInput): Promise<string[]> {
  const captured: string[] = [];
  const pool = new pg.Pool({ connectionString: input.benchUrl, max: 2 });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new DatabaseEventsPlugin()],
    log: (event) => {
      captured.push(event.query.sql);
    },
  });
  const differences: string[] = [];
  try {
    // Every request as it runs with nothing in memory: the auth-state lookup included (the
    // baseline does it every time; the service's memory of it is what it is measured with).
    const app = await buildApp(
      await buildDeps(loadConfig({ ...input.env, AUTH_CACHE_SECONDS: "0" }), { db }),
    );
    try {
      for (const scenario of input.scenarios) {
        const expected = BASELINE_STATEMENTS[scenario.name];
        if (scenario.compare !== "baseline" || !expected) continue;
        const request = scenario.requests(input.data, await input.params(scenario))();
        captured.length = 0;
        const response = await app.inject({
          method: request.method,
          url: request.path,
          headers: request.headers,
          ...(request.body !== undefined && { payload: request.body }),
        });
        if (response.statusCode >= 300) {
          differences.push(`${scenario.name}: the service answered ${response.statusCode}`);
          continue;
        }
        const service = [...captured];
        for (let i = 0; i < Math.max(service.length, expected.length); i++) {
          if (service[i] !== expected[i]) {
            differences.push(
              `${scenario.name} statement ${i + 1}:\n    service:  ${service[i] ?? "(none)"}\n    baseline: ${expected[i] ?? "(none)"}`,
            );
          }
        }
      }
    } finally {
      await app.close();
    }
  } finally {
    await db.destroy();
  }
  return differences;
}
