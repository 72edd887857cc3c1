// Where a CPU profile's time goes: self time by package (or the project's own folders) and the
// heaviest functions. Used by `npm run bench -- --cpu-prof`; also runs on its own:
//   npx tsx scripts/bench/profile-summary.ts <file>.cpuprofile [requests served]

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number };
type Profile = { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] };

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** node_modules/<package>, the project's top folder (server/, db/, routers/), node:*, or V8's own. */
function bucket(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, "");
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith("node:")) return "node: internals";
  if (url.startsWith(ROOT)) return `${url.slice(ROOT.length).split("/")[0]}/`;
  return url;
}

/** `requests`: how many requests the profiled process served, to show CPU time per request. */
export function summarize(file: string, requests = 0, top = 20): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Sample i lasted until sample i+1: its time is the next delta.
  samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  });
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busy += micros;
    const b = bucket(frame);
    buckets.set(b, (buckets.get(b) ?? 0) + micros);
    const where = frame.url
      ? `${frame.url.replace(`file://${ROOT}`, "")}:${frame.lineNumber + 1}`
      : "";
    const name = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const perRequest = (micros: number) =>
    requests > 0 ? `${(micros / requests).toFixed(1).padStart(7)} µs/req  ` : "";
  const lines = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([name, micros]) =>
          `  ${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${perRequest(micros)}${name}`,
      );
  const total =
    requests > 0
      ? `, ${requests.toLocaleString("en-US")} requests under load: ${(busy / requests).toFixed(0)} µs of main-thread CPU each`
      : "";
  return [
    `busy (not idle) ${(busy / 1e6).toFixed(1)} s${total}; self time by package or folder:`,
    ...lines(buckets, 15),
    "heaviest functions (self time):",
    ...lines(functions, top),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: tsx scripts/bench/profile-summary.ts <file.cpuprofile>");
    process.exit(2);
  }
  console.log(summarize(file, Number(process.argv[3] ?? 0)));
}
