import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../core/filters/ast.ts';
import { compareCodePoints, compareJson, jsonEquals } from '../../core/filters/compare.ts';
import { randomJson, seededRandom } from './random.ts';

const sign = (n: number) => Math.sign(n) || 0;

describe('compareJson', () => {
  it('orders types as jsonb: null < string < number < boolean < array < object < missing', () => {
    const ascending: (JsonValue | undefined)[] = [null, '', 'z', -5, 0, 1e21, false, true, [null], [1, 2], {}, { a: 1 }, undefined];
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        expect(sign(compareJson(ascending[i], ascending[j])), `${i} vs ${j}`).toBe(sign(i - j));
      }
    }
  });

  it('puts a top-level empty array before null, as PostgreSQL does', () => {
    expect(compareJson([], null)).toBe(-1);
    expect(compareJson([], '')).toBe(-1);
    expect(compareJson([], [0])).toBe(-1);
    expect(compareJson([], {})).toBe(-1);
    expect(compareJson([], [])).toBe(0);
    expect(compareJson(null, [])).toBe(1);
  });

  it('keeps nested empty arrays in the type order', () => {
    expect(compareJson([[]], [null])).toBe(1);
    expect(compareJson([[]], [true])).toBe(1);
    expect(compareJson({ a: [] }, { a: 'x' })).toBe(1);
  });

  it('compares strings by code point, not UTF-16 unit or locale', () => {
    expect(compareJson('Z', 'a')).toBe(-1);
    expect(compareJson('z', 'é')).toBe(-1);
    expect(compareJson('\uffff', '\u{10000}')).toBe(-1);
    expect(compareJson('ab', 'a')).toBe(1);
    expect(compareCodePoints('\u{1f600}', '\ue000')).toBe(1);
  });

  it('compares numbers numerically and false before true', () => {
    expect(compareJson(2, 10)).toBe(-1);
    expect(compareJson(-0, 0)).toBe(0);
    expect(compareJson(1.5, 1)).toBe(1);
    expect(compareJson(false, true)).toBe(-1);
    expect(compareJson(true, true)).toBe(0);
  });

  it('compares arrays by length first, then element by element', () => {
    expect(compareJson([9], [0, 0])).toBe(-1);
    expect(compareJson([1, 2], [1, 3])).toBe(-1);
    expect(compareJson([1, 'a'], [1, 2])).toBe(-1);
    expect(compareJson([{ b: 1 }], [{ b: 1 }])).toBe(0);
  });

  it('compares objects by pair count, then keys in storage order (shorter keys first), then values', () => {
    expect(compareJson({ z: 1 }, { a: 1, b: 1 })).toBe(-1);
    // PostgreSQL's documented example: {"aa": 1, "c": 1} > {"b": 1, "d": 1}.
    expect(compareJson({ aa: 1, c: 1 }, { b: 1, d: 1 })).toBe(1);
    expect(compareJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(0);
    expect(compareJson({ a: 1 }, { a: 2 })).toBe(-1);
    expect(compareJson({ a: 'x' }, { b: null })).toBe(-1);
    // "é" is two UTF-8 bytes, so it is stored before the three-byte "abc".
    expect(compareJson({ é: 1, abc: 1 }, { abc: 1, zz: 1 })).toBe(1);
  });

  it('sorts missing values last', () => {
    expect(compareJson(undefined, { a: 1 })).toBe(1);
    expect(compareJson(null, undefined)).toBe(-1);
    expect(compareJson(undefined, undefined)).toBe(0);
  });

  it('is a total order consistent with jsonEquals (seeded property check)', () => {
    const random = seededRandom(20240601);
    const values = Array.from({ length: 120 }, () => (random() < 0.05 ? undefined : randomJson(random)));
    for (const a of values) {
      for (const b of values) {
        const ab = compareJson(a, b);
        expect(sign(ab) + sign(compareJson(b, a))).toBe(0);
        expect(ab === 0).toBe(jsonEquals(a, b));
      }
    }
    const sorted = [...values].sort(compareJson);
    for (let i = 0; i + 1 < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) expect(compareJson(sorted[i], sorted[j])).toBeLessThanOrEqual(0);
    }
  });
});

describe('jsonEquals', () => {
  it('compares deeply and ignores key order', () => {
    expect(jsonEquals({ a: [1, { b: null }], c: 'x' }, { c: 'x', a: [1, { b: null }] })).toBe(true);
    expect(jsonEquals([1, 2], [2, 1])).toBe(false);
    expect(jsonEquals({ a: 1 }, { a: 1, b: 1 })).toBe(false);
  });

  it('never equates different types', () => {
    expect(jsonEquals(1, '1')).toBe(false);
    expect(jsonEquals(null, undefined)).toBe(false);
    expect(jsonEquals([], {})).toBe(false);
    expect(jsonEquals(0, false)).toBe(false);
    expect(jsonEquals({ a: undefined } as unknown as JsonValue, { b: 1 })).toBe(false);
  });

  it('equates a missing value only with itself', () => {
    expect(jsonEquals(undefined, undefined)).toBe(true);
    expect(jsonEquals(undefined, null)).toBe(false);
  });
});
