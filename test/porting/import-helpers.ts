import { expect } from "vitest";
import type { TestApp } from "../helpers/test-app.ts";

export type ImportJobBody = {
  jobId: number;
  status: string;
  dryRun: boolean;
  totalRows: number;
  processedRows: number;
  importedRows: number;
  rejectedRows: number;
  rejections: { line: number; code: string; reason: string }[];
  error: string | null;
};

/** Uploads a file through the REST door; returns the 202's job. */
export async function uploadImport(
  t: TestApp,
  auth: Record<string, string>,
  body: string,
  options: { format?: "ndjson" | "csv"; dryRun?: boolean } = {},
): Promise<ImportJobBody> {
  const format = options.format ?? "ndjson";
  const res = await t.app.inject({
    method: "POST",
    url: `/api/users/import?format=${format}${options.dryRun ? "&dryRun=true" : ""}`,
    headers: { ...auth, "content-type": format === "csv" ? "text/csv" : "application/x-ndjson" },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

/** Polls the job through the REST door until it has finished. */
export async function waitForImport(
  t: TestApp,
  auth: Record<string, string>,
  jobId: number,
  timeoutMs = Number(process.env.IMPORT_WAIT_MS ?? 120_000),
): Promise<ImportJobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.app.inject({
      method: "GET",
      url: `/api/users/import/${jobId}`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const job = res.json() as ImportJobBody;
    if (job.status === "succeeded" || job.status === "failed") return job;
    if (Date.now() > deadline)
      throw new Error(
        `import ${jobId} still ${JSON.stringify({ ...job, rejections: job.rejections.length })}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const ndjson = (rows: object[]) => rows.map((row) => JSON.stringify(row)).join("\n");

let counter = 0;
/** A valid row with a unique email and username. */
export function person(overrides: Record<string, unknown> = {}) {
  counter++;
  const tag = `${Date.now().toString(36)}${counter}`;
  return {
    email: `moved-${tag}@example.com`,
    username: `moved-${tag}`,
    firstName: "Moved",
    lastName: `In ${counter}`,
    ...overrides,
  };
}
