/**
 * Mann–Whitney U test (normal approximation, ties averaged and corrected): is one sample
 * stochastically larger than the other? Used where a test must show two timings do not differ
 * beyond noise, without assuming the timings are normally distributed.
 */
export function mannWhitneyZ(a: readonly number[], b: readonly number[]): number {
  const pooled = [
    ...a.map((value) => ({ value, fromA: true })),
    ...b.map((value) => ({ value, fromA: false })),
  ].sort((x, y) => x.value - y.value);
  const n = pooled.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]?.value === pooled[i]?.value) j++;
    const size = j - i + 1;
    const rank = (i + j) / 2 + 1; // ranks are 1-based; ties share their average
    for (let k = i; k <= j; k++) if (pooled[k]?.fromA) rankSumA += rank;
    tieTerm += size ** 3 - size;
    i = j + 1;
  }
  const [n1, n2] = [a.length, b.length];
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  return variance === 0 ? 0 : (u - mean) / Math.sqrt(variance);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
