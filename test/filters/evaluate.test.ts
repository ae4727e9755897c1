import { describe, expect, it } from 'vitest';
import { Filter, likeParts, type JsonObject, type SortField } from '../../core/filters/ast.ts';
import { compareBySort, matchesAll, matchesFilter, projectFields, sortObjects } from '../../core/filters/evaluate.ts';

const objects: JsonObject[] = [
  { id: 'a', last_modified: 1, title: 'MoFo', status: 0, tags: ['blue', 'red'], author: { name: 'Ann' } },
  { id: 'b', last_modified: 2, title: 'mofo rocks', status: 1, tags: ['blue'], sometimes: null },
  { id: 'c', last_modified: 3, title: 'Bar', status: 2, tags: 'blue', author: { name: 'Bob' } },
  { id: 'd', last_modified: 4, title: 10, status: '2', aliases: [{ ll: 'ls -l' }, { rm: 'rm -i' }] },
  { id: 'e', last_modified: 5, title: 'a.b(c)', sometimes: 'here' },
];

function ids(filter: ReturnType<typeof Filter.compare>): string[] {
  return objects.filter((obj) => matchesFilter(obj, filter)).map((obj) => obj.id as string);
}

describe('compare filters', () => {
  it('eq uses deep equality and never matches a missing field', () => {
    expect(ids(Filter.compare('eq', ['status'], 2))).toEqual(['c']);
    expect(ids(Filter.compare('eq', ['author'], { name: 'Bob' }))).toEqual(['c']);
    expect(ids(Filter.compare('eq', ['sometimes'], null))).toEqual(['b']);
    expect(ids(Filter.compare('eq', ['author', 'name'], 'Ann'))).toEqual(['a']);
  });

  it('not matches missing fields and other values', () => {
    expect(ids(Filter.compare('not', ['status'], 2))).toEqual(['a', 'b', 'd', 'e']);
  });

  it('lt/gt/min/max follow the jsonb order and skip missing fields', () => {
    // A string sorts before every number, so "2" is below 1.
    expect(ids(Filter.compare('lt', ['status'], 2))).toEqual(['a', 'b', 'd']);
    expect(ids(Filter.compare('max', ['status'], 2))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(Filter.compare('lt', ['status'], 1))).toEqual(['a', 'd']);
    expect(ids(Filter.compare('gt', ['status'], 0))).toEqual(['b', 'c']);
    expect(ids(Filter.compare('min', ['status'], 1))).toEqual(['b', 'c']);
    expect(ids(Filter.compare('gt', ['title'], 'a'))).toEqual(['b', 'd', 'e']);
  });
});

describe('in, like, has and contains filters', () => {
  it('in lists values; exclude keeps the others and missing fields', () => {
    expect(ids(Filter.in(['status'], [0, '2']))).toEqual(['a', 'd']);
    expect(ids(Filter.in(['status'], [0, '2'], true))).toEqual(['b', 'c', 'e']);
    expect(ids(Filter.in(['status'], []))).toEqual([]);
    expect(ids(Filter.in(['status'], [], true))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('like is case-insensitive, implicitly wrapped in wildcards, and strings only', () => {
    expect(ids(Filter.like(['title'], 'mofo'))).toEqual(['a', 'b']);
    expect(ids(Filter.like(['title'], 'MOFO'))).toEqual(['a', 'b']);
    expect(ids(Filter.like(['title'], 'mofo*'))).toEqual(['a', 'b']);
    expect(ids(Filter.like(['title'], '*fo'))).toEqual(['a']);
    expect(ids(Filter.like(['title'], 'm*s'))).toEqual(['b']);
    expect(ids(Filter.like(['title'], '1'))).toEqual([]);
  });

  it('like treats regular expression characters literally', () => {
    expect(ids(Filter.like(['title'], 'a.b(c)'))).toEqual(['e']);
    expect(ids(Filter.like(['title'], '.'))).toEqual(['e']);
    expect(ids(Filter.like(['title'], 'b(c'))).toEqual(['e']);
    expect(ids(Filter.like(['title'], '^Bar$'))).toEqual([]);
  });

  it('like wildcards cross line breaks', () => {
    expect(matchesFilter({ text: 'one\ntwo' }, Filter.like(['text'], 'one*two'))).toBe(true);
  });

  it('has counts null as present', () => {
    expect(ids(Filter.has(['sometimes'], true))).toEqual(['b', 'e']);
    expect(ids(Filter.has(['sometimes'], false))).toEqual(['a', 'c', 'd']);
    expect(ids(Filter.has(['author', 'name'], true))).toEqual(['a', 'c']);
  });

  it('contains needs every value in an array field, contains_any one of them', () => {
    expect(ids(Filter.contains(['tags'], ['red', 'blue']))).toEqual(['a']);
    expect(ids(Filter.contains(['tags'], ['blue']))).toEqual(['a', 'b']);
    expect(ids(Filter.contains(['tags'], ['red', 'green'], true))).toEqual(['a']);
    expect(ids(Filter.contains(['tags'], ['blue'], true))).toEqual(['a', 'b']);
    expect(ids(Filter.contains(['tags'], []))).toEqual(['a', 'b']);
    expect(ids(Filter.contains(['tags'], [], true))).toEqual([]);
  });

  it('contains compares objects deeply', () => {
    expect(ids(Filter.contains(['aliases'], [{ ll: 'ls -l' }]))).toEqual(['d']);
    expect(ids(Filter.contains(['aliases'], [{ ll: 'ls' }]))).toEqual([]);
  });

  it('matchesAll requires every filter', () => {
    const filters = [Filter.like(['title'], 'mofo'), Filter.compare('gt', ['status'], 0)];
    expect(objects.filter((obj) => matchesAll(obj, filters)).map((obj) => obj.id)).toEqual(['b']);
    expect(matchesAll(objects[0], [])).toBe(true);
  });

  it('likeParts applies the implicit wildcards once', () => {
    expect(likeParts('abc')).toEqual(['', 'abc', '']);
    expect(likeParts('a*c')).toEqual(['a', 'c']);
  });
});

describe('after (keyset pagination)', () => {
  const sort: SortField[] = [
    { field: ['status'], direction: 1 },
    { field: ['last_modified'], direction: -1 },
  ];

  it('matches objects strictly after the reference values (missing sorts last)', () => {
    const after = Filter.after(sort, [1, 2]);
    expect(objects.filter((obj) => matchesFilter(obj, after)).map((obj) => obj.id)).toEqual(['c', 'e']);
  });

  it('uses later sort fields to break ties and excludes the reference itself', () => {
    const row = { status: 1, last_modified: 2 };
    expect(matchesFilter(row, Filter.after(sort, [1, 2]))).toBe(false);
    expect(matchesFilter({ status: 1, last_modified: 1 }, Filter.after(sort, [1, 2]))).toBe(true);
    expect(matchesFilter({ status: 1, last_modified: 3 }, Filter.after(sort, [1, 2]))).toBe(false);
  });

  it('treats a missing reference value as the greatest value', () => {
    const byOptional: SortField[] = [{ field: ['optional'], direction: -1 }];
    expect(matchesFilter({ optional: 5 }, Filter.after(byOptional, [undefined]))).toBe(true);
    expect(matchesFilter({}, Filter.after(byOptional, [undefined]))).toBe(false);
    const ascending: SortField[] = [{ field: ['optional'], direction: 1 }];
    expect(matchesFilter({}, Filter.after(ascending, [5]))).toBe(true);
  });

  it('walks a sorted list page by page without gaps or repeats', () => {
    const sorted = sortObjects(objects, sort);
    const after = Filter.after(sort, [sorted[1].status, sorted[1].last_modified]);
    expect(sorted.filter((obj) => matchesFilter(obj, after))).toEqual(sorted.slice(2));
  });
});

describe('sortObjects', () => {
  it('sorts by each field in turn, missing values last when ascending', () => {
    const sorted = sortObjects(objects, [{ field: ['status'], direction: 1 }]);
    expect(sorted.map((obj) => obj.id)).toEqual(['d', 'a', 'b', 'c', 'e']);
    const descending = sortObjects(objects, [{ field: ['status'], direction: -1 }]);
    expect(descending.map((obj) => obj.id)).toEqual(['e', 'c', 'b', 'a', 'd']);
  });

  it('is stable and does not modify its input', () => {
    const rows = [{ k: 1, n: 'x' }, { k: 0, n: 'y' }, { k: 1, n: 'z' }, { k: 0, n: 'w' }];
    const copy = [...rows];
    expect(sortObjects(rows, [{ field: ['k'], direction: 1 }]).map((row) => row.n)).toEqual(['y', 'w', 'x', 'z']);
    expect(rows).toEqual(copy);
  });

  it('compareBySort returns 0 only when every sort field ties', () => {
    const sort: SortField[] = [{ field: ['a'], direction: -1 }, { field: ['b'], direction: 1 }];
    expect(compareBySort({ a: 1, b: 1 }, { a: 1, b: 2 }, sort)).toBe(-1);
    expect(compareBySort({ a: 2, b: 9 }, { a: 1, b: 0 }, sort)).toBe(-1);
    expect(compareBySort({ a: 1, b: 1 }, { a: 1, b: 1 }, sort)).toBe(0);
  });
});

describe('projectFields', () => {
  const obj: JsonObject = {
    id: 'x',
    last_modified: 9,
    field: 'value',
    other: 'val',
    orig: { foo: 'food', bar: 'baz', nested: { size: 1, hash: 'h', mime: 'm' } },
    list: [1, 2],
  };

  it('always keeps id and last_modified', () => {
    expect(projectFields(obj, [['field']])).toEqual({ field: 'value', id: 'x', last_modified: 9 });
  });

  it('keeps nested sub-objects for dotted paths', () => {
    expect(projectFields(obj, [['orig', 'nested', 'size'], ['orig', 'nested', 'hash']])).toEqual({
      orig: { nested: { size: 1, hash: 'h' } },
      id: 'x',
      last_modified: 9,
    });
  });

  it('keeps a whole value when it is selected whole or is not an object', () => {
    expect(projectFields(obj, [['orig', 'foo'], ['orig']]).orig).toEqual(obj.orig);
    expect(projectFields(obj, [['orig'], ['orig', 'foo']]).orig).toEqual(obj.orig);
    expect(projectFields(obj, [['list', 'x']]).list).toEqual([1, 2]);
  });

  it('omits absent fields and keeps an empty object for an absent sub-field', () => {
    expect(projectFields(obj, [['missing'], ['orig', 'missing']])).toEqual({ orig: {}, id: 'x', last_modified: 9 });
  });

  it('copies keys such as __proto__ as plain data', () => {
    const tricky = JSON.parse('{"id":"x","last_modified":1,"__proto__":{"polluted":true}}') as JsonObject;
    const projected = projectFields(tricky, [['__proto__']]);
    expect(Object.hasOwn(projected, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(projected)).toBe(Object.prototype);
  });
});
