import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../core/filters/ast.ts';
import { canonicalJson, compareKeys, signedPayload } from '../canonical-json.ts';

// The reference vectors live in ../shared beside the repository (as in CI).
const VECTORS = new URL('../../../../shared/testdata/canonicaljson', import.meta.url).pathname;
const CASES: { input: string; expected: string; source: string }[] = JSON.parse(
  readFileSync(new URL('./vectors/canonicaljson-cases.json', import.meta.url), 'utf8'),
);

describe('canonical JSON', () => {
  it.each(CASES)('serialises $input ($source)', ({ input, expected }) => {
    expect(canonicalJson(JSON.parse(input) as JsonValue)).toBe(expected);
  });

  it('reproduces the canonicaljson-rs search-config vector byte for byte', () => {
    const input = JSON.parse(readFileSync(`${VECTORS}/search-config-v2.json`, 'utf8')) as JsonValue;
    const expected = readFileSync(`${VECTORS}/search-config-v2.canonical.json`);
    const expectedText = expected.toString('utf8').replace(/\n$/, '');
    const produced = canonicalJson(input);
    expect(produced).toBe(expectedText);
    expect(Buffer.from(produced, 'utf8').equals(Buffer.from(expectedText, 'utf8'))).toBe(true);
  });

  it('produces pure ASCII whatever the input', () => {
    const produced = canonicalJson({ 'clé': ['日本', '\u{1F600}', '\u0000\u007f'] });
    expect(/^[\x20-\x7e]*$/.test(produced)).toBe(true);
    expect(JSON.parse(produced)).toEqual({ 'clé': ['日本', '\u{1F600}', '\u0000\u007f'] });
  });
});

describe('signed payload', () => {
  it('keeps live records sorted by id with the timestamp as a string', () => {
    const records: { id: string; [field: string]: JsonValue }[] = [
      { id: 'b', last_modified: 2, title: 'B' },
      { id: 'a', last_modified: 1, title: 'A' },
      { id: 'c', last_modified: 3, deleted: true },
    ];
    expect(signedPayload(records, 42)).toBe(
      '{"data":[{"id":"a","last_modified":1,"title":"A"},{"id":"b","last_modified":2,"title":"B"}],"last_modified":"42"}',
    );
    expect(records.map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });

  it('sorts ids by code point', () => {
    const payload = signedPayload([{ id: '\u{1F600}' }, { id: '\uffff' }, { id: 'Z' }], 1);
    expect(payload).toBe('{"data":[{"id":"Z"},{"id":"\\uffff"},{"id":"\\ud83d\\ude00"}],"last_modified":"1"}');
  });
});

describe('key order', () => {
  it('matches code point order on random strings mixing BMP, private use and astral characters', () => {
    const alphabet = ['a', 'Z', 'é', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];
    const byCodePoints = (a: string, b: string) => {
      const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    };
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const word = () => Array.from({ length: 1 + Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const [a, b] = [word(), word()];
      expect(Math.sign(compareKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(byCodePoints(a, b)));
    }
  });
});
