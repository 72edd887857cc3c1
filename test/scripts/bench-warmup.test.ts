import { describe, expect, it } from "vitest";
import { warmUp } from "../../scripts/bench/measure-scenario.ts";
import type { Side } from "../../scripts/bench/report.ts";

/** Warm-up rounds that report these rates in turn, and how many were asked for. */
function rounds(rates: number[]) {
  let asked = 0;
  const round = async (): Promise<Side> => {
    const rps = rates[asked++] ?? 0;
    return { rps, p50: 1, p99: 1, errors: 0, non2xx: 0, cpuMsPerReq: 0 };
  };
  return { round, asked: () => asked };
}

describe("the bench's warm-up", () => {
  it("runs until two rounds in a row agree within 10%, at least two", async () => {
    const cold = rounds([1200, 2000, 2900, 3150, 3300]);
    expect(await warmUp(cold.round)).toEqual([1200, 2000, 2900, 3150]);
    expect(cold.asked()).toBe(4);
    expect(await warmUp(rounds([3000, 3100, 3000]).round)).toEqual([3000, 3100]);
  });

  it("does not take rounds in which nothing was answered for a steady state", async () => {
    expect(await warmUp(rounds([0, 0, 40, 42]).round)).toEqual([0, 0, 40, 42]);
  });

  it("gives up after six rounds on a side that never settles", async () => {
    const noisy = rounds([100, 200, 100, 200, 100, 200, 100]);
    expect(await warmUp(noisy.round)).toHaveLength(6);
    expect(noisy.asked()).toBe(6);
  });
});
