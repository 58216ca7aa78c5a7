import { mulberry32 } from '../../../local/seeded-random.ts';

/** A small seeded PRNG (mulberry32) with the draws the reliability suites need, so every run can be replayed. */
export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
  /** A generator of its own, derived from this seed and a label, so adding draws elsewhere does not shift it. */
  fork(label: string | number): SeededRandom;
}

/** The seed a suite uses: `RELIABILITY_SEED` when set (to replay a failure), else the suite's fixed default. */
export function suiteSeed(fallback: number): number {
  const given = process.env.RELIABILITY_SEED;
  if (given === undefined || given === '') return fallback;
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`RELIABILITY_SEED must be an integer, got ${given}`);
  return seed >>> 0;
}

export function seededRandom(seed: number): SeededRandom {
  const next = mulberry32(seed);
  const random: SeededRandom = {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    bytes: (length) => {
      const buffer = Buffer.alloc(length);
      for (let i = 0; i < length; i += 1) buffer[i] = Math.floor(next() * 256);
      return buffer;
    },
    fork: (label) => seededRandom(hash(`${seed}:${label}`)),
  };
  return random;
}

/** FNV-1a, to turn a label into a seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
