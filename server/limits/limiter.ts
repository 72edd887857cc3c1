import { AppError } from "../errors/api-errors.ts";

export type LimiterOptions = {
  /** Tasks running at once (≥ 1). */
  concurrency: number;
  /** Callers allowed to wait for a slot (≥ 0); one more is refused with 503. */
  maxQueue: number;
};

export type Limiter = {
  /**
   * Runs `task` when a slot is free. Rejects with `AppError("SERVICE_UNAVAILABLE")` (Retry-After
   * 1 s) without running it when `maxQueue` callers are already waiting.
   */
  run<T>(task: () => Promise<T> | T): Promise<T>;
  /** Tasks running now. */
  readonly active: number;
  /** Callers waiting for a slot. */
  readonly queued: number;
};

const busy = () =>
  new AppError("SERVICE_UNAVAILABLE", "Server busy, retry shortly", { retryAfter: 1 });

/** A small FIFO concurrency limiter with a bounded wait queue (load shedding, not buffering). */
export function createLimiter({ concurrency, maxQueue }: LimiterOptions): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`maxQueue must be an integer ≥ 0, got ${maxQueue}`);
  }
  let active = 0;
  // Each waiter is woken with the slot its predecessor releases, so `active` never dips and
  // a newcomer cannot overtake the queue.
  const waiting: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  return {
    async run<T>(task: () => Promise<T> | T): Promise<T> {
      if (active < concurrency) {
        active++;
      } else if (waiting.length < maxQueue) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        throw busy();
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
  };
}
