import { invalidParameters, modifiedMeanwhile } from '../errors.ts';
import type { StoredObject } from '../storage/types.ts';

/** `If-Match` / `If-None-Match` as Kinto validates them: `*` or one quoted integer. */
export type Precondition = '*' | number | null;

export interface Preconditions {
  ifMatch: Precondition;
  ifNoneMatch: Precondition;
}

const QUOTED_INTEGER = /^"([0-9]+)"$/;

function parseOne(name: string, raw: string | string[] | undefined): Precondition {
  if (raw === undefined || raw === '') return null;
  const value = Array.isArray(raw) ? raw.join(', ') : raw.trim();
  if (value === '*') return '*';
  const match = QUOTED_INTEGER.exec(value);
  if (!match) throw invalidParameters('header', name, 'The value should be integer between double quotes.');
  // Kinto tests the parsed value for truthiness: `"0"` counts as no header at all.
  return Number(match[1]) === 0 ? null : Number(match[1]);
}

export function parsePreconditions(headers: Record<string, string | string[] | undefined>): Preconditions {
  return {
    ifMatch: parseOne('If-Match', headers['if-match']),
    ifNoneMatch: parseOne('If-None-Match', headers['if-none-match']),
  };
}

/** Kinto's 304 rule: `If-None-Match` equal to the current timestamp on a read. */
export function isNotModified(preconditions: Preconditions, currentTimestamp: number): boolean {
  return typeof preconditions.ifNoneMatch === 'number' && preconditions.ifNoneMatch === currentTimestamp;
}

/**
 * Kinto's 412 rule (`_raise_412_if_modified`). `existing` is the target object, `{}`-like
 * `true` for plural endpoints (which always exist), or null when absent.
 */
export function checkPreconditions(
  preconditions: Preconditions,
  existing: StoredObject | 'plural' | null,
  currentTimestamp: () => Promise<number>,
): Promise<void> | void {
  const { ifMatch, ifNoneMatch } = preconditions;
  if (ifMatch === null && ifNoneMatch === null) return;
  const exists = existing !== null;
  let expected: number;
  if (ifNoneMatch === '*' && exists) expected = -1;
  else if (ifMatch !== null && !exists) expected = -1;
  else if (typeof ifMatch === 'number') expected = ifMatch;
  else return;
  return (async () => {
    const current = existing && existing !== 'plural' ? existing.last_modified : await currentTimestamp();
    if (current === expected) return;
    const shown = existing && existing !== 'plural' ? existing : null;
    throw modifiedMeanwhile(shown, current);
  })();
}
