/**
 * The few Python behaviours Kinto's querystring handling leans on (json.loads fallback,
 * truthiness, int(), str(), base64 decoding, json.dumps), reproduced so that accepted
 * inputs, rejected inputs and error texts match the reference server.
 */
import type { JsonValue } from './ast.ts';

/** Characters `str.strip()` and `int()` treat as whitespace. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const PY_INT_LITERAL = new RegExp(`^[${PY_SPACE}]*([+-]?)(\\d+(?:_\\d+)*)[${PY_SPACE}]*$`);

export function pyStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

/** What JSON text can start with, after JSON's whitespace (`-` only before a digit: `_sort=-field`); a word only as `true`, `false`, `null`. */
const MAY_BE_JSON = /^[ \t\n\r]*(?:-?[0-9]|["{[]|(?:true|false|null)[ \t\n\r]*$)/;

/** Kinto's `native_value`: the JSON reading of a string, else the string itself. */
export function nativeValue(raw: string): JsonValue {
  // Most filter values are plain words: no JSON.parse, whose exception is costly (bench/README.md #23).
  if (!MAY_BE_JSON.test(raw)) return raw;
  try {
    return JSON.parse(raw) as JsonValue;
  } catch {
    return raw;
  }
}

/** True when `raw` reads as a JSON number that Python would load as a float (`1.0`, `1e3`). */
export function isFloatLiteral(raw: string): boolean {
  return /[.eE]/.test(raw) && typeof nativeValue(raw) === 'number';
}

export function pyTruthy(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Python's `int(value)`, or null where it raises. */
export function pyInt(value: JsonValue): bigint | null {
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : null;
  if (typeof value !== 'string') return null;
  const match = PY_INT_LITERAL.exec(value);
  if (!match) return null;
  const magnitude = BigInt(match[2].replaceAll('_', ''));
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Python's `str(value)`; `asFloat` marks a number that Python holds as a float. */
export function pyStr(value: JsonValue, asFloat = false): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && asFloat) return pyFloatRepr(value);
  return pyRepr(value);
}

function pyRepr(value: JsonValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  const pairs = Object.keys(value).map((key) => `${pyStringRepr(key)}: ${pyRepr(value[key])}`);
  return `{${pairs.join(', ')}}`;
}

function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\' || char === quote) body += `\\${char}`;
    else if (char === '\n') body += '\\n';
    else if (char === '\r') body += '\\r';
    else if (char === '\t') body += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0)) body += `\\x${code.toString(16).padStart(2, '0')}`;
    else body += char;
  }
  return quote + body + quote;
}

/** Python's float repr: shortest digits, exponent form outside 1e-4 <= |x| < 1e16. */
function pyFloatRepr(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  const signText = value < 0 ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const exponentSign = exponent < 0 ? '-' : '+';
    return `${signText}${digits[0]}${fraction}e${exponentSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${signText}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${signText}${integer}.${digits.slice(exponent + 1) || '0'}`;
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUES = new Map([...B64_ALPHABET].map((char, index) => [char, index]));

/**
 * Python's non-strict `base64.b64decode`: non-ASCII input fails, characters outside the
 * alphabet are skipped, a complete padding ends the data, and a truncated final
 * quantum fails. Returns null where Python raises.
 */
export function pyB64Decode(text: string): Uint8Array | null {
  // Canonical base64 (every token we issue) decodes the same either way: natively, 10x faster.
  if (text.length % 4 === 0 && CANONICAL_B64.test(text)) return Buffer.from(text, 'base64');
  return lenientB64Decode(text);
}

const CANONICAL_B64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `pyB64Decode` character by character (the definition; exported for its tests). */
export function lenientB64Decode(text: string): Uint8Array | null {
  if (/[^\x00-\x7f]/.test(text)) return null;
  const bytes: number[] = [];
  let quadPos = 0;
  let pads = 0;
  let left = 0;
  for (const char of text) {
    if (char === '=') {
      if (quadPos >= 2 && quadPos + ++pads >= 4) return Uint8Array.from(bytes);
      continue;
    }
    const sextet = B64_VALUES.get(char);
    if (sextet === undefined) continue;
    pads = 0;
    if (quadPos === 1) bytes.push(((left << 2) | (sextet >> 4)) & 0xff);
    else if (quadPos === 2) bytes.push(((left << 4) | (sextet >> 2)) & 0xff);
    else if (quadPos === 3) bytes.push(((left << 6) | sextet) & 0xff);
    left = sextet;
    quadPos = (quadPos + 1) % 4;
  }
  return quadPos === 0 ? Uint8Array.from(bytes) : null;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Python's `bytes.decode('utf-8')`: null on invalid sequences; a BOM is kept as text. */
export function pyUtf8Decode(bytes: Uint8Array): string | null {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** A number as Python writes it (repr and json.dumps agree on numbers). */
function pyNumber(value: number): string {
  // Beyond 2^53 JavaScript writes exponents (`1e+21`) where Python writes every digit.
  if (Number.isSafeInteger(value)) return String(value);
  return Number.isInteger(value) ? BigInt(value).toString() : pyFloatRepr(value);
}

/** Python's `json.dumps` with default settings (`", "` / `": "` separators, ASCII output). */
export function pyJsonDumps(value: JsonValue): string {
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, asciiEscape);
  if (typeof value === 'number') return pyNumber(value);
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  const pairs = Object.keys(value).map((key) => `${pyJsonDumps(key)}: ${pyJsonDumps(value[key])}`);
  return `{${pairs.join(', ')}}`;
}

function asciiEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
