/**
 * The search language of the fake Elasticsearch (fake-es.ts): enough of the query DSL and of
 * the `q=` syntax for the plugin's tests, with ES-shaped errors for what it cannot parse.
 * Scores are all 1; text is "analysed" by lower-casing and splitting on non-word characters.
 */

export type Doc = Record<string, unknown>;

/** A query ES would refuse: answered as a 400 whose root cause has this type. */
export class QueryError extends Error {
  readonly type: string;
  /** Set for `q=` syntax errors: ES reports them as a failed search phase. */
  readonly phaseFailure: boolean;
  constructor(type: string, reason: string, phaseFailure = false) {
    super(reason);
    this.type = type;
    this.phaseFailure = phaseFailure;
  }
}

const tokens = (text: string) => text.toLowerCase().split(/[^\p{L}\p{N}_*?]+/u).filter(Boolean);

/** Every value at a dotted path, arrays flattened. */
function valuesAt(doc: unknown, path: string): unknown[] {
  let current: unknown[] = [doc];
  for (const step of path.split('.')) {
    current = current.flatMap((value) => {
      const next = value && typeof value === 'object' && !Array.isArray(value) ? (value as Doc)[step] : undefined;
      return next === undefined ? [] : Array.isArray(next) ? next : [next];
    });
  }
  return current;
}

/** Every scalar leaf of the document (a query without field searches them all). */
function leaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leaves);
  if (value && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [value];
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Full-text match: some token of the query is a token of the value (wildcards allowed). */
function textMatches(value: unknown, query: unknown): boolean {
  if (typeof value !== 'string') return value === query || String(value) === String(query);
  const wanted = tokens(String(query)).map(wildcard);
  const present = tokens(value);
  return wanted.some((pattern) => present.some((token) => pattern.test(token)));
}

function fieldClause(kind: string, clause: unknown): [string, unknown] {
  if (!clause || typeof clause !== 'object' || Object.keys(clause).length !== 1) {
    throw new QueryError('parsing_exception', `[${kind}] query malformed, no start_object after query name`);
  }
  const [field, spec] = Object.entries(clause)[0];
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const inner = spec as Doc;
    return [field, kind === 'match' ? inner.query : inner.value];
  }
  return [field, spec];
}

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function boolMatches(spec: unknown, doc: Doc): boolean {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new QueryError('parsing_exception', '[bool] malformed query');
  const { must, filter, should, must_not: mustNot } = spec as Doc;
  const required = [...asList(must), ...asList(filter)];
  const optional = asList(should);
  return (
    required.every((query) => matches(query, doc)) &&
    !asList(mustNot).some((query) => matches(query, doc)) &&
    (optional.length === 0 || required.length > 0 || optional.some((query) => matches(query, doc)))
  );
}

function rangeMatches(clause: unknown, doc: Doc): boolean {
  const [field, bounds] = fieldClause('range', clause);
  const { gt, gte, lt, lte } = (bounds ?? {}) as Record<string, number>;
  return valuesAt(doc, field).some((raw) => {
    const value = raw as number;
    const above = (gt === undefined || value > gt) && (gte === undefined || value >= gte);
    return above && (lt === undefined || value < lt) && (lte === undefined || value <= lte);
  });
}

/** Whether `doc` matches one query of the DSL (`{"match": {...}}`...). */
export function matches(query: unknown, doc: Doc): boolean {
  if (!query || typeof query !== 'object' || Array.isArray(query) || Object.keys(query).length !== 1) {
    throw new QueryError('parsing_exception', 'query malformed, must start with start_object');
  }
  const [kind, spec] = Object.entries(query)[0];
  switch (kind) {
    case 'match_all':
      return true;
    case 'match': {
      const [field, value] = fieldClause(kind, spec);
      return valuesAt(doc, field).some((found) => textMatches(found, value));
    }
    case 'term': {
      const [field, value] = fieldClause(kind, spec);
      return valuesAt(doc, field).some((found) => found === value);
    }
    case 'terms': {
      const [field, values] = fieldClause(kind, spec);
      return valuesAt(doc, field).some((found) => asList(values).includes(found));
    }
    case 'range':
      return rangeMatches(spec, doc);
    case 'bool':
      return boolMatches(spec, doc);
    case 'query_string':
      return queryStringMatches(String((spec as Doc | null)?.query ?? ''), doc);
    default:
      throw new QueryError('parsing_exception', `unknown query [${kind}]`);
  }
}

interface Clause {
  field: string | null;
  value: string;
  occur: 'must' | 'should' | 'must_not';
}

/** Lucene's syntax, reduced: `field:value`, bare words, quotes, AND/OR/NOT, `-term`, `*`. */
function parseQueryString(text: string): Clause[] {
  const failed = () => new QueryError('query_shard_exception', `Failed to parse query [${text}]`, true);
  if ((text.match(/"/g) ?? []).length % 2 || (text.match(/\(/g) ?? []).length !== (text.match(/\)/g) ?? []).length) throw failed();
  const words = text.replace(/[()]/g, ' ').match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  const clauses: Clause[] = [];
  let conjunction = false;
  let negateNext = false;
  for (const word of words) {
    if (word === 'AND' || word === '&&') conjunction = true;
    else if (word === 'OR' || word === '||') continue;
    else if (word === 'NOT') negateNext = true;
    else {
      const negated = negateNext || word.startsWith('-');
      const bare = word.replace(/^[-+]/, '');
      const colon = bare.indexOf(':');
      const field = colon === -1 ? null : bare.slice(0, colon);
      const value = (colon === -1 ? bare : bare.slice(colon + 1)).replace(/^"|"$/g, '');
      if (field === '' || value === '') throw failed();
      clauses.push({ field, value, occur: negated ? 'must_not' : word.startsWith('+') ? 'must' : 'should' });
      negateNext = false;
    }
  }
  if (negateNext) throw failed();
  return conjunction ? clauses.map((clause) => (clause.occur === 'should' ? { ...clause, occur: 'must' } : clause)) : clauses;
}

function clauseMatches(clause: Clause, doc: Doc): boolean {
  if (clause.value === '*') return clause.field === null || valuesAt(doc, clause.field).length > 0;
  const candidates = clause.field === null ? leaves(doc) : valuesAt(doc, clause.field);
  return candidates.some((value) => textMatches(value, clause.value));
}

export function queryStringMatches(text: string, doc: Doc): boolean {
  const clauses = parseQueryString(text);
  const hits = (occur: Clause['occur']) => clauses.filter((clause) => clause.occur === occur);
  const should = hits('should');
  return (
    hits('must').every((clause) => clauseMatches(clause, doc)) &&
    !hits('must_not').some((clause) => clauseMatches(clause, doc)) &&
    (should.length === 0 || should.some((clause) => clauseMatches(clause, doc)))
  );
}

export interface SortKey {
  field: string;
  descending: boolean;
}

/** `sort` of a body (`["a", {"b": "desc"}, {"c": {"order": "asc"}}]`) or of the URL (`a:desc,b`). */
export function parseSort(sort: unknown): SortKey[] {
  if (typeof sort === 'string') {
    return sort.split(',').filter(Boolean).map((part) => {
      const [field, order] = part.split(':');
      return { field, descending: order === 'desc' };
    });
  }
  return asList(sort).map((entry) => {
    if (typeof entry === 'string') return { field: entry, descending: false };
    if (!entry || typeof entry !== 'object' || Object.keys(entry).length !== 1) {
      throw new QueryError('parsing_exception', 'malformed sort format, within the sort array, an object, or an actual string are allowed');
    }
    const [field, spec] = Object.entries(entry)[0];
    const order = typeof spec === 'string' ? spec : (spec as Doc | null)?.order;
    return { field, descending: order === 'desc' };
  });
}

/** Sort values of a document (missing ones sort last, as ES does). */
export function sortValues(doc: Doc, keys: readonly SortKey[]): unknown[] {
  return keys.map((key) => (key.field === '_score' ? 1 : valuesAt(doc, key.field)[0] ?? null));
}

export function compareSortValues(a: unknown[], b: unknown[], keys: readonly SortKey[]): number {
  for (let index = 0; index < keys.length; index++) {
    const [left, right] = [a[index], b[index]];
    if (left === right) continue;
    if (left === null) return 1;
    if (right === null) return -1;
    const order = (left as number) < (right as number) ? -1 : 1;
    return keys[index].descending ? -order : order;
  }
  return 0;
}
