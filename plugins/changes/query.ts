import type { ValidationDetail } from '../../core/errors.ts';
import { queryError } from '../../core/filters/parse.ts';
import { pyInt } from '../../core/filters/pycompat.ts';
import { lastValue } from './cdn.ts';

/** The validated querystring of a `/changeset` endpoint (the reference's `ChangeSetQuerystring`). */
export interface ChangesetQuery {
  expected: string;
  since: number | null;
  limit: number | null;
  bucket: string | null;
  collection: string | null;
}

const JANUARY_1ST_2100 = 4102444800000;
const MAX_LIMIT = 2n ** 63n;
const QUOTED_TIMESTAMP = /^"([0-9]+)"$|^([0-9]+)$/;
const TIMESTAMP_MESSAGE = 'The value should be integer, optionally between double quotes.';

type Outcome<T> = { value: T } | { error: string };

function readSince(raw: string): Outcome<number> {
  const match = QUOTED_TIMESTAMP.exec(raw);
  if (!match) return { error: TIMESTAMP_MESSAGE };
  const value = BigInt(match[1] ?? match[2]);
  if (value > BigInt(JANUARY_1ST_2100)) return { error: `${value} is greater than maximum value ${JANUARY_1ST_2100}` };
  return { value: Number(value) };
}

/** colander's Integer with `Range(0, 2**63)`. */
function readLimit(raw: string): Outcome<number> {
  const value = pyInt(raw);
  if (value === null) return { error: `"${raw}" is not a number` };
  if (value < 0n) return { error: `${value} is less than minimum value 0` };
  if (value > MAX_LIMIT) return { error: `${value} is greater than maximum value ${MAX_LIMIT}` };
  return { value: Number(value) };
}

/** Validates the querystring, reporting every problem at once as cornice does (400). */
export function parseChangesetQuery(query: readonly [string, string][]): ChangesetQuery {
  const errors: ValidationDetail[] = [];
  const fail = (name: string, description: string) => errors.push({ location: 'querystring', name, description });
  const result: ChangesetQuery = { expected: '', since: null, limit: null, bucket: null, collection: null };

  const expected = lastValue(query, '_expected');
  // colander reads an empty string as missing.
  if (expected === undefined || expected === '') fail('_expected', 'Required');
  else result.expected = expected;

  const since = lastValue(query, '_since');
  if (since !== undefined && since !== '') {
    const outcome = readSince(since);
    if ('error' in outcome) fail('_since', outcome.error);
    else result.since = outcome.value;
  }
  const limit = lastValue(query, '_limit');
  if (limit !== undefined && limit !== '') {
    const outcome = readLimit(limit);
    if ('error' in outcome) fail('_limit', outcome.error);
    else result.limit = outcome.value;
  }
  result.bucket = lastValue(query, 'bucket') || null;
  result.collection = lastValue(query, 'collection') || null;
  if (errors.length) throw queryError(errors);
  return result;
}

/** `_limit` bounded by `paginate_by` and `storage_max_fetch_size` (the reference's `bound_limit`). */
export function boundLimit(limit: number | null, paginateBy: number | null, maxFetch: number): number {
  const maxLimit = Math.min(paginateBy || maxFetch, maxFetch);
  return limit === null ? maxLimit : Math.min(Math.abs(limit), maxLimit);
}
