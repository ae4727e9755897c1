/**
 * The fast paths of two parsers every listing runs (bench/README.md #23) answer what their
 * plain definitions answer, on hand-picked edge cases and on random strings built from the
 * characters that matter: `nativeValue` (JSON.parse, else the string) and the querystring's
 * UTF-8 check (percent-decoded bytes, `+` as a space, strictly decoded). And those of the
 * pagination token (#30): canonical base64 decoded natively, safe integers written by String.
 */
import { describe, expect, it } from 'vitest';
import { lenientB64Decode, nativeValue, pyB64Decode, pyJsonDumps } from '../../core/filters/pycompat.ts';
import { isUtf8Encoded } from '../../core/http/query-encoding.ts';
import { pick, randomInt, seededRandom, type Random } from './random.ts';

function referenceNativeValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function referenceIsUtf8(text: string): boolean {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...new TextEncoder().encode(text[i] === '+' ? ' ' : text[i]));
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    return true;
  } catch {
    return false;
  }
}

function randomText(random: Random, alphabet: readonly string[]): string {
  return Array.from({ length: randomInt(random, 12) }, () => pick(random, alphabet)).join('');
}

const JSON_PIECES = ['', ' ', '\t', '\n', '\u00a0', 't', 'true', 'false', 'null', 'nul', 'x', '1', '-', '0', '.5', 'e3', '"', '"a"', '{', '}', '[', ']', ',', ':', 'NaN', 'tech', 'é', '-x', '-last_modified'];
const QUERY_PIECES = ['a', '=', '&', '+', '%', '%2', '%20', '%7F', '%7f', '%80', '%C3', '%A9', '%c3%a9', '%E2%82%AC', '%zz', '%8', 'é', '\u{1f600}', '\ud800', '_token=eyJ'];

describe('nativeValue', () => {
  it('reads JSON where JSON.parse does, else keeps the string', () => {
    const cases = ['tech', '-last_modified', '-1', '- 1', '-', 'true', ' true ', 'truex', 'null', 'nulls', '12', ' -3.5e2 ', '"x"', '[1, "a"]', '{"a": 1}', '', ' ', 'NaN', 'Infinity', '\u00a01', 'fal'];
    for (const raw of cases) expect(nativeValue(raw), JSON.stringify(raw)).toEqual(referenceNativeValue(raw));
  });

  it('agrees with JSON.parse on 20,000 random strings', () => {
    const random = seededRandom(23);
    for (let i = 0; i < 20_000; i++) {
      const raw = randomText(random, JSON_PIECES);
      expect(nativeValue(raw), JSON.stringify(raw)).toEqual(referenceNativeValue(raw));
    }
  });
});

describe('the querystring UTF-8 check', () => {
  it('accepts ASCII and UTF-8 escapes, refuses escapes of invalid UTF-8', () => {
    expect(isUtf8Encoded('category=tech&_sort=-last_modified&_token=eyJsYXN0')).toBe(true);
    expect(isUtf8Encoded('title=%C3%A9t%C3%A9&x=%zz&y=%7F%')).toBe(true);
    expect(isUtf8Encoded('x=%82%AC')).toBe(false);
    expect(isUtf8Encoded('x=%C3')).toBe(false);
  });

  it('agrees with a strict decoding of the percent-decoded bytes on 20,000 random queries', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 20_000; i++) {
      const text = randomText(random, QUERY_PIECES);
      expect(isUtf8Encoded(text), JSON.stringify(text)).toBe(referenceIsUtf8(text));
    }
  });
});

const bytesOf = (decoded: Uint8Array | null) => (decoded === null ? null : [...decoded]);
const B64_PIECES = ['A', 'Q', 'z', '9', '+', '/', '=', '==', 'AAAA', 'eyJ', '-', '_', ' ', '\n', 'é', '.'];

describe('the base64 of pagination tokens', () => {
  it('decodes as Python does, canonical or not', () => {
    const cases = ['', 'QQ==', 'QUI=', 'QUJD', 'QR==', 'QUJ=', 'QQ', 'Q', 'QQ=', 'QQ===', 'Q=Q=', 'QQ==QUJD', 'QU JD', 'QUJD\n', 'QU-JD', 'é', '===='];
    for (const text of cases) expect(bytesOf(pyB64Decode(text)), JSON.stringify(text)).toEqual(bytesOf(lenientB64Decode(text)));
    const token = Buffer.from('{"last_object": {"last_modified": 1}, "offset": 100, "nonce": "n"}').toString('base64');
    expect(Buffer.from(pyB64Decode(token)!).toString()).toContain('"offset": 100');
  });

  it('agrees with the character-by-character decoding on 20,000 random strings', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 20_000; i++) {
      const text = randomText(random, B64_PIECES);
      expect(bytesOf(pyB64Decode(text)), JSON.stringify(text)).toEqual(bytesOf(lenientB64Decode(text)));
    }
  });
});

describe('integers in Python JSON', () => {
  it('are written with every digit, beyond 2^53 too', () => {
    const cases = [0, -0, 1, -1, 1733616000000, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e21, -1e22, 2 ** 70];
    for (const value of cases) expect(pyJsonDumps(value), String(value)).toBe(BigInt(value).toString());
  });
});
