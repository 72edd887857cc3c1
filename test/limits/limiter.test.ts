import { describe, expect, it } from "vitest";
import { AppError } from "../../server/errors/api-errors.ts";
import { createLimiter } from "../../server/limits/limiter.ts";

/** A task that runs until `finish()` is called, counting how many such tasks run at once. */
function gate() {
  const state = { running: 0, maxRunning: 0, started: 0 };
  const releases: Array<() => void> = [];
  const task = async () => {
    state.started++;
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    await new Promise<void>((resolve) => releases.push(resolve));
    state.running--;
    return state.started;
  };
  const finishOne = async () => {
    releases.shift()?.();
    // let the limiter hand the slot over and the next task start
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { state, task, finishOne, pending: () => releases.length };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createLimiter", () => {
  it("never runs more than `concurrency` tasks at once, and runs them all", async () => {
    const limiter = createLimiter({ concurrency: 3, maxQueue: 100 });
    const { state, task, finishOne } = gate();
    const all = Promise.all(Array.from({ length: 20 }, () => limiter.run(task)));
    await tick();
    expect(state.running).toBe(3);
    expect(limiter.active).toBe(3);
    expect(limiter.queued).toBe(17);
    while (state.started < 20 || state.running > 0) await finishOne();
    await all;
    expect(state.maxRunning).toBe(3);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("starts waiters in arrival order", async () => {
    const limiter = createLimiter({ concurrency: 1, maxQueue: 10 });
    const order: number[] = [];
    const { task, finishOne } = gate();
    const first = limiter.run(task);
    const rest = [1, 2, 3].map((n) => limiter.run(() => order.push(n)));
    await tick();
    await finishOne();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([1, 2, 3]);
  });

  it("refuses callers beyond maxQueue with SERVICE_UNAVAILABLE and Retry-After 1", async () => {
    const limiter = createLimiter({ concurrency: 2, maxQueue: 3 });
    const { state, task, finishOne } = gate();
    const accepted = Array.from({ length: 5 }, () => limiter.run(task));
    const refused = limiter.run(task);
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({
      apiCode: "SERVICE_UNAVAILABLE",
      message: "Server busy, retry shortly",
      retryAfter: 1,
    });
    expect(state.started).toBe(2); // the refused task never ran
    while (state.started < 5 || state.running > 0) await finishOne();
    await expect(Promise.all(accepted)).resolves.toHaveLength(5);
    // room again once the queue drained
    await expect(limiter.run(() => "ok")).resolves.toBe("ok");
  });

  it("with maxQueue 0, refuses as soon as every slot is busy", async () => {
    const limiter = createLimiter({ concurrency: 1, maxQueue: 0 });
    const { task, finishOne } = gate();
    const running = limiter.run(task);
    await expect(limiter.run(task)).rejects.toMatchObject({ apiCode: "SERVICE_UNAVAILABLE" });
    await tick();
    await finishOne();
    await running;
  });

  it("frees the slot when a task throws", async () => {
    const limiter = createLimiter({ concurrency: 1, maxQueue: 0 });
    await expect(
      limiter.run(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(limiter.run(async () => "next")).resolves.toBe("next");
    expect(limiter.active).toBe(0);
  });

  it("rejects nonsensical settings", () => {
    expect(() => createLimiter({ concurrency: 0, maxQueue: 1 })).toThrow(RangeError);
    expect(() => createLimiter({ concurrency: 1.5, maxQueue: 1 })).toThrow(RangeError);
    expect(() => createLimiter({ concurrency: 1, maxQueue: -1 })).toThrow(RangeError);
  });
});
