// How PostgreSQL runs the listing's two statements: the scan nodes of EXPLAIN, so the table can
// say why a filter is fast or slow (an index scan, or a sequential scan of every user).

import pg from "pg";

type PlanNode = {
  "Node Type": string;
  "Parallel Aware"?: boolean;
  "Index Name"?: string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
};

function scans(node: PlanNode, out: string[]): string[] {
  if (node["Node Type"].includes("Scan")) {
    const parallel = node["Parallel Aware"] ? "Parallel " : "";
    const on = node["Index Name"] ?? node["Relation Name"] ?? "";
    out.push(`${parallel}${node["Node Type"]}${on ? ` ${on}` : ""}`);
  }
  for (const child of node.Plans ?? []) scans(child, out);
  return out;
}

/**
 * "Index Only Scan users_email_key" or "Parallel Seq Scan users" for each statement; a listing
 * of rows alone (a later page, whose count its cursor carries) has no count to explain.
 */
export async function explainScans(
  benchUrl: string,
  statements: readonly [count: string, rows: string] | readonly [rows: string],
  params: { count: readonly unknown[]; rows: readonly unknown[] },
): Promise<{ count: string; rows: string }> {
  const client = new pg.Client({ connectionString: benchUrl });
  await client.connect();
  try {
    const explain = async (statement: string, values: readonly unknown[]) => {
      const { rows } = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(
        `explain (format json) ${statement}`,
        [...values],
      );
      const plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
      return plan ? [...new Set(scans(plan, []))].join(" + ") : "?";
    };
    const [count, rows] = statements.length === 2 ? statements : [undefined, statements[0]];
    return {
      count:
        count === undefined ? "none (the cursor carries it)" : await explain(count, params.count),
      rows: await explain(rows, params.rows),
    };
  } finally {
    await client.end();
  }
}
