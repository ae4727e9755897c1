/** Seeded generators for the filter fuzz and property tests (mulberry32: small, reproducible). */
import type { JsonValue } from '../../core/filters/ast.ts';

export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

export function randomInt(random: Random, max: number): number {
  return Math.floor(random() * max);
}

const STRING_POOL = ['', 'a', 'b', 'ab', 'B', 'é', 'z', '\uffff', '\u{1f600}', 'a*b', '1', 'null', '"x"'];

/** Small JSON values with plenty of collisions, so equal and near-equal pairs are common. */
export function randomJson(random: Random, depth = 2): JsonValue {
  const kind = randomInt(random, depth > 0 ? 7 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return pick(random, STRING_POOL);
    case 2:
      return pick(random, [0, 1, -1, 2.5, 1e21, -0.5]);
    case 3:
      return random() < 0.5;
    case 4:
      return pick(random, ['a', 'b', 0, 1]);
    case 5:
      return Array.from({ length: randomInt(random, 3) }, () => randomJson(random, depth - 1));
    default: {
      const obj: { [key: string]: JsonValue } = {};
      for (let i = randomInt(random, 3); i > 0; i--) obj[pick(random, ['a', 'b', 'aa', 'c'])] = randomJson(random, depth - 1);
      return obj;
    }
  }
}
