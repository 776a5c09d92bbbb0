// A seeded PRNG (mulberry32), so that the resume part cuts at the same points in every run.

/** A function returning numbers in [0, 1) from `seed`. */
export function seededRandom(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in [low, high], from `random`. */
export const between = (random, low, high) => low + Math.floor(random() * (high - low + 1))
