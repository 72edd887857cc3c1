// Where a CPU profile's time goes: self time by package (or the project's own folders) and the
// heaviest functions. Used by `npm run bench -- --cpu-prof`; also runs on its own:
//   npx tsx scripts/bench/profile-summary.ts <file>.cpuprofile

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLayerOf, LAYERS, OTHER_LAYER } from "./profile-layers.ts";

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber?: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number };
type Profile = {
  nodes: ProfileNode[];
  startTime: number;
  samples?: number[];
  timeDeltas?: number[];
};

/** Stretches of the profile to count (µs on V8's clock), and the requests served in them. */
export type Windows = { startUs: number; endUs: number; requests: number }[];

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

/**
 * `windows`: when the profiled process served load and how many requests, to count only those
 * stretches (not start-up, not idle gaps) and show CPU time per request; none: the whole profile.
 */
export function summarize(
  file: string,
  windows: Windows = [],
  top = 20,
  /**
   * The CPU time per request measured apart (process.cpuUsage): per-request figures are then
   * each share of it. A busy machine preempts the profiled thread, and the profile counts that
   * wall time as the sampled function's; the shares stay right, the sums do not.
   */
  measuredMicrosPerRequest?: number,
): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const requests = windows.reduce((n, w) => n + w.requests, 0);
  const counted = (at: number) =>
    windows.length === 0 || windows.some((w) => at >= w.startUs && at < w.endUs);
  // Sample i lasted until sample i+1: its time is the next delta.
  let at = profile.startTime;
  samples.forEach((id, i) => {
    at += deltas[i] ?? 0;
    if (counted(at)) self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  });
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  const layerOf = createLayerOf();
  const layers = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busy += micros;
    const b = bucket(frame);
    buckets.set(b, (buckets.get(b) ?? 0) + micros);
    const layer = layerOf(frame);
    layers.set(layer, (layers.get(layer) ?? 0) + micros);
    const where = frame.url
      ? `${frame.url.replace(`file://${ROOT}`, "")}:${frame.lineNumber + 1}`
      : "";
    const name = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const scale =
    measuredMicrosPerRequest !== undefined && busy > 0
      ? (measuredMicrosPerRequest * requests) / busy
      : 1;
  const perRequest = (micros: number) =>
    requests > 0 ? `${((micros * scale) / requests).toFixed(1).padStart(7)} µs/req  ` : "";
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
      ? `, ${requests.toLocaleString("en-US")} requests in ${windows.length} runs under load (start-up and idle time left out): ${((busy * scale) / requests).toFixed(0)} µs of main-thread CPU each${scale === 1 ? "" : " (as measured apart; shares from the profile)"}`
      : "";
  const layerLines = [...LAYERS.map((layer) => layer.name), OTHER_LAYER].map(
    (name) =>
      `  ${(((layers.get(name) ?? 0) / busy) * 100).toFixed(1).padStart(5)}%  ${perRequest(layers.get(name) ?? 0)}${name}`,
  );
  return [
    `busy (not idle) ${(busy / 1e6).toFixed(1)} s${total}; self time by layer:`,
    ...layerLines,
    "self time by package or folder:",
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
  console.log(summarize(file));
}
