import { KintoError } from '../errors.ts';

/**
 * A non-ASCII character or a percent-escape of a byte >= 0x80: without either, the decoded
 * bytes are ASCII, valid UTF-8 (searched for, rather than a pattern matching every character:
 * every request with a querystring runs it, bench/README.md #31).
 */
const NOT_PLAIN_ASCII = /[^\x00-\x7f]|%[89a-fA-F][0-9a-fA-F]/;

/** True when percent-decoding `text` (and `+` as space) gives valid UTF-8, as Python's query parsing needs. */
export function isUtf8Encoded(text: string): boolean {
  // The common query (filters, a pagination token) is plain ASCII: no byte-by-byte decoding.
  return !NOT_PLAIN_ASCII.test(text) || decodesAsUtf8(text);
}

function decodesAsUtf8(text: string): boolean {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const hex = text[i] === '%' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] === '+' ? ' ' : text[i], 'utf8'));
    }
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

/** Kinto's `request_GET`: a querystring that is not UTF-8 once decoded is a 400. */
export function checkQueryEncoding(url: string): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  const query = url.slice(start + 1);
  if (isUtf8Encoded(query)) return;
  throw new KintoError('BAD_REQUEST', {
    // Kinto's message, missing space included.
    message: `A request with an incorrect encoding in the querystring was` +
      `received. Please make sure your requests are encoded in UTF-8: ${query}`,
  });
}

