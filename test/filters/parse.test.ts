import { describe, expect, it } from 'vitest';
import { KintoError } from '../../core/errors.ts';
import { Filter, type JsonObject } from '../../core/filters/ast.ts';
import { matchesAll, sortObjects } from '../../core/filters/evaluate.ts';
import {
  buildAfterFilter,
  encodeToken,
  lastObjectFor,
  parseFieldsQuery,
  parseListQuery,
  type ParseOptions,
  type RawQuery,
} from '../../core/filters/parse.ts';
import { pick, randomInt, randomJson, seededRandom } from './random.ts';

const NOW = 1_700_000_000_000;
const DAY = 24 * 3600 * 1000;
const STRICT = { knownFields: new Set(['title', 'status']) };

function parse(query: RawQuery, options: Partial<ParseOptions> = {}) {
  return parseListQuery(query, { now: NOW, ...options });
}

function failure(query: RawQuery, options: Partial<ParseOptions> = {}) {
  try {
    parse(query, options);
  } catch (error) {
    if (error instanceof KintoError) return error.toBody();
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(query)} to be rejected`);
}

function failureDetail(query: RawQuery, options: Partial<ParseOptions> = {}) {
  const body = failure(query, options);
  expect(body).toMatchObject({ code: 400, errno: 107, error: 'Invalid parameters' });
  return { message: body.message, detail: (body.details as object[])[0] };
}

const filtersOf = (query: RawQuery, options: Partial<ParseOptions> = {}) => parse(query, options).filters;

describe('filter operators', () => {
  it('reads field=value as eq with the value JSON-parsed, else kept raw', () => {
    expect(filtersOf({ status: '1', title: 'MoFo', odd: '1.2.3', tuple: '(1,2,3)', 'author.name': '"x"' })).toEqual([
      Filter.compare('eq', ['status'], 1),
      Filter.compare('eq', ['title'], 'MoFo'),
      Filter.compare('eq', ['odd'], '1.2.3'),
      Filter.compare('eq', ['tuple'], '(1,2,3)'),
      Filter.compare('eq', ['author', 'name'], 'x'),
    ]);
    expect(filtersOf({ attributes: '{"ibu": 25}', orders: '[]', author: 'null' })).toEqual([
      Filter.compare('eq', ['attributes'], { ibu: 25 }),
      Filter.compare('eq', ['orders'], []),
      Filter.compare('eq', ['author'], null),
    ]);
  });

  it('reads the comparison prefixes', () => {
    const query = { eq_a: '1', not_b: '2', lt_c: '3', gt_d: '4', min_e: '5', max_f: '"6"' };
    expect(filtersOf(query)).toEqual([
      Filter.compare('eq', ['a'], 1),
      Filter.compare('not', ['b'], 2),
      Filter.compare('lt', ['c'], 3),
      Filter.compare('gt', ['d'], 4),
      Filter.compare('min', ['e'], 5),
      Filter.compare('max', ['f'], '6'),
    ]);
  });

  it('only treats an exact prefix followed by a word as an operator', () => {
    expect(filtersOf({ madmax_status: '1', 'in_': 'x', 'gt_a-b': '1' })).toEqual([
      Filter.compare('eq', ['madmax_status'], 1),
      // Kinto splits any `in_*` key as a list before deciding it is no operator.
      Filter.compare('eq', ['in_'], ['x']),
      Filter.compare('eq', ['gt_a-b'], 1),
    ]);
    expect(filtersOf({ contains_any_tags: 'a', not_in_x: '1', ' gt_a ': '1' })).toEqual([
      Filter.contains(['tags'], ['a'], true),
      Filter.compare('not', ['in_x'], 1),
      Filter.compare('gt', ['a'], 1),
    ]);
  });

  it('reads in_ and exclude_ as comma-separated JSON items, dropping empty ones', () => {
    expect(filtersOf({ in_status: '0,1,"a",x,', exclude_tag: 'true' })).toEqual([
      Filter.in(['status'], [0, 1, 'a', 'x']),
      Filter.in(['tag'], [true], true),
    ]);
    expect(filtersOf({ in_status: '' })).toEqual([Filter.in(['status'], [])]);
  });

  it('reads like_ patterns as strings only', () => {
    expect(filtersOf({ like_title: 'Fo*', 'like_a.b': '"10"' })).toEqual([
      Filter.like(['title'], 'Fo*'),
      Filter.like(['a', 'b'], '10'),
    ]);
    expect(failure({ like_title: '10' })).toEqual({
      code: 400,
      errno: 107,
      error: 'Invalid parameters',
      message: 'Invalid value for like_title',
      details: [{ location: 'querystring', name: 'like_title', description: 'Invalid value for like_title' }],
    });
  });

  it('reads has_ with Python truthiness', () => {
    const present = (raw: string) => (filtersOf({ has_x: raw })[0] as { present: boolean }).present;
    expect(['true', '1', 'yes', '"no"', '[0]'].map(present)).toEqual([true, true, true, true, true]);
    expect(['false', '0', '', 'null', '[]', '{}', '""'].map(present)).toEqual([false, false, false, false, false, false, false]);
  });

  it('reads contains_ and contains_any_ as lists, wrapping a single value', () => {
    expect(filtersOf({ contains_colors: 'red', contains_fib: '[3, 5]', contains_any_aliases: '[{"ll": "ls"}]' })).toEqual([
      Filter.contains(['colors'], ['red']),
      Filter.contains(['fib'], [3, 5]),
      Filter.contains(['aliases'], [{ ll: 'ls' }], true),
    ]);
  });

  it('ignores unknown parameters starting with an underscore', () => {
    expect(filtersOf({ _expected: '1', _: 'x', __proto__x: '1', _cachebust: 'abc' })).toEqual([]);
  });

  it('reads repeated parameters as Kinto does: lists of raw strings', () => {
    expect(filtersOf({ title: ['a', 'b'], in_x: ['1', '2,3'], contains_t: ['1', '2'] })).toEqual([
      Filter.compare('eq', ['title'], ['a', 'b']),
      Filter.in(['x'], [1, '2,3']),
      Filter.contains(['t'], ['1', '2']),
    ]);
    expect(failureDetail({ like_title: ['a', 'b'] }).message).toBe('Invalid value for like_title');
  });
});

describe('id and last_modified filters', () => {
  it('compares integer ids as strings, as Kinto backends do', () => {
    expect(filtersOf({ not_id: '12', gt_id: 'true', lt_id: '1.0', id: '0', eq_id: '"7"' })).toEqual([
      Filter.compare('not', ['id'], '12'),
      Filter.compare('gt', ['id'], 'True'),
      Filter.compare('lt', ['id'], 1),
      Filter.compare('eq', ['id'], '0'),
      Filter.compare('eq', ['id'], '7'),
    ]);
  });

  it('rejects a non-string id= value through the querystring schema', () => {
    expect(failureDetail({ id: '12' })).toEqual({
      message: "12 is not a string: {'id': ''}",
      detail: { location: 'querystring', name: 'id', description: "12 is not a string: {'id': ''}" },
    });
  });

  it('requires strings in in_id and exclude_id', () => {
    expect(filtersOf({ in_id: 'a,"b"' })).toEqual([Filter.in(['id'], ['a', 'b'])]);
    expect(failureDetail({ in_id: '0,1' }).detail).toEqual({
      location: 'querystring',
      name: 'in_id',
      description: 'Invalid value for in_id',
    });
    expect(failureDetail({ exclude_id: 'a,1' }).message).toBe('Invalid value for exclude_id');
  });

  it('reads last_modified filters as integer timestamps, quoted or not', () => {
    expect(filtersOf({ gt_last_modified: '"123"', lt_last_modified: '456', last_modified: '"789"' })).toEqual([
      Filter.compare('gt', ['last_modified'], 123),
      Filter.compare('lt', ['last_modified'], 456),
      Filter.compare('eq', ['last_modified'], 789),
    ]);
  });

  it('rejects last_modified values that are not timestamps', () => {
    for (const value of ['abc', '', '-1', 'null', '"12a"', `${NOW + DAY}`, "171103608603432920249' or '7127'='7127"]) {
      expect(failureDetail({ lt_last_modified: value }).message).toBe('Invalid value for lt_last_modified');
    }
    expect(failureDetail({ in_last_modified: '1,2' }).message).toBe('Invalid value for in_last_modified');
    expect(failureDetail({ exclude_last_modified: 'a,b' }).message).toBe('Invalid value for exclude_last_modified');
    expect(failureDetail({ contains_last_modified: '1' }).message).toBe('Invalid value for contains_last_modified');
  });

  it('validates last_modified= through the schema first, like Kinto', () => {
    expect(failureDetail({ last_modified: 'abc' }).message).toBe('last_modified in querystring: "abc" is not a number');
    expect(failureDetail({ last_modified: '123"' }).message).toBe('last_modified in querystring: "123"" is not a number');
    expect(failureDetail({ last_modified: '-5' }).message).toBe('last_modified in querystring: -5 is less than minimum value 0');
    expect(failureDetail({ last_modified: '' }).message).toBe('Invalid value for last_modified');
  });

  it('rejects contains_ on id', () => {
    expect(failureDetail({ contains_id: 'foo' })).toEqual({
      message: "contains_id in querystring: Field 'id' is not an array",
      detail: { location: 'querystring', name: 'contains_id', description: "Field 'id' is not an array" },
    });
  });

  it('lists tombstones when last_modified is filtered', () => {
    expect(parse({ gt_last_modified: '1' }).includeDeleted).toBe(true);
    expect(parse({ has_last_modified: 'true' }).includeDeleted).toBe(true);
    expect(parse({ status: '1', 'last_modified.x': '1' }).includeDeleted).toBe(false);
  });
});

describe('NUL characters', () => {
  it('are rejected in field names and values', () => {
    const expected = { location: 'querystring', name: 'field\x00', description: 'Invalid character 0x00' };
    expect(failureDetail({ 'field\x00': '"2"' }).detail).toEqual(expected);
    expect(failureDetail({ field: '"\x00"' }).detail).toMatchObject({ description: 'Invalid character 0x00' });
    expect(failureDetail({ in_id: 'abc\x00def' }).message).toBe('in_id in querystring: Invalid character 0x00');
    expect(failureDetail({ contains_x: '[{"a\\u0000": 1}]' }).detail).toMatchObject({ description: 'Invalid character 0x00' });
  });
});

describe('_since, _before and _to', () => {
  it('bound last_modified and list tombstones', () => {
    const query = parse({ _since: '"10"', _before: '20' });
    expect(query.filters).toEqual([Filter.compare('gt', ['last_modified'], 10), Filter.compare('lt', ['last_modified'], 20)]);
    expect(query.includeDeleted).toBe(true);
    expect(query.deprecatedTo).toBe(false);
    expect(parse({ status: '1' }).includeDeleted).toBe(false);
  });

  it('flags the deprecated _to', () => {
    const query = parse({ _to: '5' });
    expect(query.filters).toEqual([Filter.compare('lt', ['last_modified'], 5)]);
    expect(query.deprecatedTo).toBe(true);
  });

  it('reads null as no bound, still listing tombstones', () => {
    const query = parse({ _since: 'null' });
    expect(query.filters).toEqual([]);
    expect(query.includeDeleted).toBe(true);
  });

  it('rejects values in the future or that are not integers', () => {
    const future = failureDetail({ _since: `"${NOW + 3 * DAY}"` });
    expect(future).toEqual({
      message: 'Invalid value for _since',
      detail: { location: 'querystring', name: '_since', description: 'Invalid value for _since' },
    });
    expect(parse({ _since: `${NOW + DAY - 1}` }).filters).toHaveLength(1);
    expect(failureDetail({ _before: '' }).message).toBe('Invalid value for _before');
    expect(failureDetail({ _since: '[]' }).message).toBe('Invalid value for _since');
    expect(failureDetail({ _since: 'aaa' }).message).toBe('_since in querystring: "aaa" is not a number');
    expect(failureDetail({ _to: '-1' }).message).toBe('_to in querystring: -1 is less than minimum value 0');
  });
});

describe('_limit', () => {
  it('reads a non-negative integer, null when absent or empty', () => {
    expect(parse({}).limit).toBeNull();
    expect(parse({ _limit: '' }).limit).toBeNull();
    expect(parse({ _limit: '10' }).limit).toBe(10);
    expect(parse({ _limit: '"3"' }).limit).toBe(3);
    expect(parse({ _limit: '0' }).limit).toBe(0);
    expect(parse({ _limit: '2.7' }).limit).toBe(2);
  });

  it('rejects other values with colander messages', () => {
    expect(failureDetail({ _limit: 'abc' })).toEqual({
      message: '_limit in querystring: "abc" is not a number',
      detail: { location: 'querystring', name: '_limit', description: '"abc" is not a number' },
    });
    expect(failureDetail({ _limit: '-1' }).message).toBe('_limit in querystring: -1 is less than minimum value 0');
    expect(failureDetail({ _limit: '1e30' }).message).toMatch(/is greater than maximum value 9223372036854775808$/);
    expect(failureDetail({ _limit: '{"a": [1, "b"]}' }).message).toBe(`_limit in querystring: "{'a': [1, 'b']}" is not a number`);
    expect(failureDetail({ _limit: ['1', '2'] }).message).toBe(`_limit in querystring: "['1', '2']" is not a number`);
  });

  it('reports every schema error at once, sorted by name', () => {
    const body = failure({ id: '1', _since: 'x', _limit: '-2' });
    expect(body.message).toBe('_limit in querystring: -2 is less than minimum value 0');
    expect((body.details as { name: string }[]).map((detail) => detail.name)).toEqual(['_limit', '_since', 'id']);
  });
});

describe('_sort', () => {
  it('defaults to -last_modified', () => {
    expect(parse({}).sort).toEqual([{ field: ['last_modified'], direction: -1 }]);
  });

  it('reads fields and directions and appends -last_modified', () => {
    expect(parse({ _sort: 'title,-status,+author.name' }).sort).toEqual([
      { field: ['title'], direction: 1 },
      { field: ['status'], direction: -1 },
      { field: ['author', 'name'], direction: 1 },
      { field: ['last_modified'], direction: -1 },
    ]);
  });

  it('does not append last_modified when already sorted on', () => {
    expect(parse({ _sort: 'last_modified' }).sort).toEqual([{ field: ['last_modified'], direction: 1 }]);
    expect(parse({ _sort: 'a,-last_modified' }).sort).toEqual([
      { field: ['a'], direction: 1 },
      { field: ['last_modified'], direction: -1 },
    ]);
  });

  it('ignores malformed entries', () => {
    expect(parse({ _sort: ',a b,-,--x, title ,é' }).sort).toEqual([
      { field: ['title'], direction: 1 },
      { field: ['é'], direction: 1 },
      { field: ['last_modified'], direction: -1 },
    ]);
  });

  it('rejects unknown fields on strict resources', () => {
    expect(failure({ _sort: 'foo' }, STRICT)).toEqual({
      code: 400,
      errno: 107,
      error: 'Invalid parameters',
      message: "querystring: Unknown sort field 'foo'",
      details: [{ location: 'querystring', name: null, description: "Unknown sort field 'foo'" }],
    });
    expect(parse({ _sort: '-status,id,deleted' }, STRICT).sort).toHaveLength(4);
  });
});

describe('_fields', () => {
  it('reads dotted field paths', () => {
    expect(parse({ _fields: 'a,b.c,' }).fields).toEqual([['a'], ['b', 'c']]);
    expect(parse({ _fields: '' }).fields).toBeNull();
    expect(parse({}).fields).toBeNull();
  });

  it('is ignored on DELETE', () => {
    expect(parse({ _fields: 'x' }, { method: 'DELETE', ...STRICT }).fields).toBeNull();
  });

  it('rejects unknown root fields on strict resources', () => {
    expect(failureDetail({ _fields: 'title,foo,bar.x,foo.y' }, STRICT)).toEqual({
      message: 'Invalid _fields parameter in body: Fields foo,bar do not exist',
      detail: { location: 'body', name: 'Invalid _fields parameter', description: 'Fields foo,bar do not exist' },
    });
    expect(parse({ _fields: 'title.x,id,last_modified' }, STRICT).fields).toHaveLength(3);
  });

  it('is the only parameter read on object endpoints', () => {
    expect(parseFieldsQuery({ _fields: 'a.b', _limit: 'x', foo: '\x00' })).toEqual([['a', 'b']]);
    expect(parseFieldsQuery({})).toBeNull();
    expect(() => parseFieldsQuery({ _fields: 'foo' }, STRICT.knownFields)).toThrow(KintoError);
  });
});

describe('strict resources', () => {
  it('reject filters on unknown root fields', () => {
    expect(failure({ foo: '1' }, STRICT)).toEqual({
      code: 400,
      errno: 107,
      error: 'Invalid parameters',
      message: "Unknown filter field 'foo'",
      details: [{ location: 'querystring', name: 'foo', description: "Unknown filter field 'foo'" }],
    });
    expect(failureDetail({ 'gt_foo.x': '1' }, STRICT).message).toBe("Unknown filter field 'gt_foo.x'");
  });

  it('accept schema fields, sub-fields and the meta fields', () => {
    const query = { 'title.x': '1', in_id: 'a', deleted: 'true', _since: '1', gt_last_modified: '1' };
    expect(parse(query, STRICT).filters).toHaveLength(5);
  });
});

describe('fuzzing', () => {
  const keys = [
    'title', 'status', 'id', 'last_modified', 'deleted', 'a.b', 'é', 'x-y', '', ' ', '__proto__', 'constructor',
    'in_id', 'exclude_id', 'in_last_modified', 'contains_id', 'contains_x', 'contains_any_x', 'like_title',
    'like_id', 'has_x', 'has_last_modified', 'gt_last_modified', 'lt_id', 'min_status', 'max_a.b', 'not_x',
    'eq_y', '_since', '_before', '_to', '_limit', '_sort', '_fields', '_token', '_other', 'f\x00', ' _since',
  ];
  const fragments = [
    '', '0', '1', '-1', '1.5', '1e400', 'true', 'null', '"x"', '"12"', '[1,"a"]', '{"a":{"b":[]}}', 'a,b,,c',
    '\x00', '"\\u0000"', '*', 'é', '\ud800', 'NaN', 'Infinity', '9223372036854775809', '  7 ', '1_000', '"', '[',
    'title,-status,+a.b', '-', '--x', `${NOW}`, `"${NOW + 2 * DAY}"`, 'eyJ', '=', 'YQ==',
  ];

  function randomRaw(random: () => number): string {
    const roll = random();
    if (roll < 0.2) return JSON.stringify(randomJson(random));
    if (roll < 0.3) return Buffer.from(JSON.stringify(randomJson(random))).toString('base64');
    if (roll < 0.35) return encodeToken({ [pick(random, ['title', 'last_modified', 'a.b'])]: randomJson(random) }, randomInt(random, 9), 'n');
    return Array.from({ length: 1 + randomInt(random, 3) }, () => pick(random, fragments)).join(pick(random, ['', ',', ' ']));
  }

  it('only ever throws 400 KintoErrors, and parsed queries evaluate without throwing', () => {
    const random = seededRandom(1234);
    const objects: JsonObject[] = Array.from({ length: 12 }, () => ({
      id: pick(random, ['a', 'b', '1']),
      last_modified: randomInt(random, 5),
      title: randomJson(random),
      a: { b: randomJson(random) },
      x: randomJson(random),
    }));
    let parsed = 0;
    for (let i = 0; i < 4000; i++) {
      const query: Record<string, string | string[]> = {};
      for (let n = randomInt(random, 4); n >= 0; n--) {
        query[pick(random, keys)] = random() < 0.1 ? [randomRaw(random), randomRaw(random)] : randomRaw(random);
      }
      const options: Partial<ParseOptions> = random() < 0.3 ? STRICT : { method: pick(random, ['GET', 'HEAD', 'DELETE'] as const) };
      let result;
      try {
        result = parse(query, options);
      } catch (error) {
        expect(error, JSON.stringify(query)).toBeInstanceOf(KintoError);
        const body = (error as KintoError).toBody();
        expect(body.code).toBe(400);
        expect(typeof body.message).toBe('string');
        continue;
      }
      parsed++;
      const filters = [...result.filters];
      if (result.token) filters.push(buildAfterFilter(result.sort, result.token.lastObject));
      const rows = sortObjects(objects.filter((obj) => matchesAll(obj, filters)), result.sort);
      if (rows.length > 0) encodeToken(lastObjectFor(rows[0], result.sort), 1, 'n');
    }
    expect(parsed).toBeGreaterThan(500);
  });
});
