/**
 * The size Kinto's quotas plugin counts for an object: the length of Python's
 * `json.dumps(obj, sort_keys=True, separators=(',', ':'))` (ASCII output: every character
 * outside space..tilde is a `\uXXXX` escape, one per UTF-16 code unit, as Python writes).
 */
import type { JsonValue } from '../../core/filters/ast.ts';

const SHORT_ESCAPES = new Set(['"', '\\', '\n', '\r', '\t', '\b', '\f']);

function stringSize(text: string): number {
  let size = 2;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const code = text.charCodeAt(i);
    if (SHORT_ESCAPES.has(char)) size += 2;
    else if (code < 0x20 || code > 0x7e) size += 6;
    else size += 1;
  }
  return size;
}

/**
 * A number as Python writes it. Integral values are taken for ints (JSON cannot tell `2`
 * from `2.0` once parsed here): all digits. Others as `repr(float)`: shortest digits, exponent
 * form below 1e-4 and from 1e16, with at least two exponent digits (`1e-05`, `1.5e+300`).
 */
export function pythonNumber(value: number): string {
  if (Number.isSafeInteger(value)) return String(value);
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

export function jsonSize(value: JsonValue | undefined): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'boolean') return value ? 4 : 5;
  if (typeof value === 'number') return pythonNumber(value).length;
  if (typeof value === 'string') return stringSize(value);
  if (Array.isArray(value)) {
    if (!value.length) return 2;
    return value.reduce<number>((total, item) => total + jsonSize(item), 1 + value.length);
  }
  const keys = Object.keys(value);
  if (!keys.length) return 2;
  // `{` + `}` + a `:` per pair + a `,` between pairs.
  return keys.reduce((total, key) => total + stringSize(key) + jsonSize(value[key]), 1 + 2 * keys.length);
}
