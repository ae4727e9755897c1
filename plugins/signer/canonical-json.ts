/**
 * Canonical JSON as Remote Settings signs it (mozilla-services/canonicaljson-rs, after
 * gibson042's spec): object keys sorted by code point, no whitespace, every character
 * outside printable ASCII escaped as lowercase `\uXXXX` (astral ones as UTF-16 surrogate
 * pairs), the usual short escapes, `/` left alone, integers as is and other numbers in
 * capital-E exponent form. Firefox verifies signatures over exactly these bytes.
 */
import type { JsonValue } from '../../core/filters/ast.ts';

/**
 * JSON.stringify already writes `\"`, `\\`, the short escapes, other control characters
 * as lowercase `\u00xx` and lone surrogates as `\udxxx`, as serde_json does; what is left
 * is DEL and every non-ASCII UTF-16 unit (astral characters thus become surrogate pairs).
 */
export function canonicalString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const U64_LIMIT = 2 ** 64;
const I64_MIN = -(2 ** 63);

/**
 * serde_json prints integers that fit 64 bits as integers; other numbers go through Rust's
 * shortest `{:e}` form, normalised to a capital `E` without `+` or leading zeros.
 */
export function canonicalNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  // serde_json reads `-0` as the float -0.0.
  if (Object.is(value, -0)) return '-0E0';
  if (Number.isInteger(value) && value >= I64_MIN && value < U64_LIMIT) return BigInt(value).toString();
  const [mantissa, exponent] = value.toExponential().split('e');
  return `${mantissa}E${Number(exponent)}`;
}

/**
 * Code-point order (Rust sorts UTF-8 bytes, which is the same), not UTF-16 order: at the
 * first difference, surrogates (astral characters) move above U+E000–U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

export function canonicalJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return canonicalNumber(value);
  if (typeof value === 'string') return canonicalString(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort(compareKeys);
  return `{${keys.map((key) => `${canonicalString(key)}:${canonicalJson(value[key])}`).join(',')}}`;
}

/** A record as stored: the signer only needs its id and tombstone mark. */
interface SignedRecord {
  [field: string]: JsonValue;
  id: string;
}

/**
 * The payload Remote Settings signs: live records sorted by id (tombstones excluded) and
 * the collection timestamp as a string (the reference's `serializer.canonical_json`).
 */
export function signedPayload(records: readonly SignedRecord[], lastModified: number | string): string {
  const live = records.filter((record) => !record.deleted);
  const sorted = [...live].sort((a, b) => compareKeys(a.id, b.id));
  return canonicalJson({ data: sorted, last_modified: String(lastModified) });
}
