// mulberry32: a small seeded PRNG, so property tests and the fuzzer are reproducible.
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    /** Log-uniform integer in [lo, hi]: small and huge sizes equally likely. */
    log: (lo: number, hi: number) =>
      Math.min(hi, Math.max(lo, Math.round(Math.exp(Math.log(lo) + next() * Math.log(hi / lo))))),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}
export type Rng = ReturnType<typeof rng>;
