/**
 * When the primary was seen at which WAL position, to tell how far behind (in time) a replica
 * that replayed some position is: since the primary first passed it. Samples come from the
 * health checks and from writes; those older than `keepMs` go, but the newest of them stays, so a
 * replica behind every sample kept is known to be more than `keepMs` behind (→ Infinity).
 */
export class LagClock {
  private samples: { lsn: bigint; at: number }[] = [];

  constructor(private readonly keepMs: number) {}

  /** The primary was at `lsn` (or past it) at `at` (performance.now()). */
  sample(lsn: bigint, at: number): void {
    const last = this.samples.at(-1);
    if (last && lsn <= last.lsn) return;
    // Many writes within 10 ms make one sample: its position the latest, its time the first.
    if (last && at - last.at < 10) last.lsn = lsn;
    else this.samples.push({ lsn, at });
    const cutoff = at - this.keepMs;
    let old = 0;
    while (old + 1 < this.samples.length && (this.samples[old + 1]?.at ?? at) < cutoff) old += 1;
    if (old > 0) this.samples.splice(0, old);
  }

  /** How long ago the primary first passed `replayed` (0 if it never did; Infinity if unknown). */
  lagMs(replayed: bigint, now: number): number {
    const first = this.samples.findIndex((sample) => sample.lsn > replayed);
    if (first === -1) return 0;
    // Behind the oldest sample kept: nothing tells since when, so assume the worst.
    if (first === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, now - (this.samples[first]?.at ?? now));
  }
}
