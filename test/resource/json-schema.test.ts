import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../core/filters/ast.ts';
import { KintoError } from '../../core/errors.ts';
import {
  MAX_SCHEMA_DEPTH,
  checkSchemaDefinition,
  pythonRepr,
  validateAgainstSchema,
} from '../../core/resource/json-schema.ts';
import { seededRandom } from '../filters/random.ts';

const RECORD_IGNORED = { ignoredFields: ['last_modified', 'schema', '__permissions__'] };

// Schema of Kinto's tests/test_views_schema_record.py
const SCHEMA: JsonObject = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    body: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    file: { type: 'object', properties: { size: { type: 'number' } } },
  },
  required: ['title'],
};

interface Detail {
  location: string;
  name: string | null;
  description: string;
}

function failure(schema: JsonObject, obj: JsonObject, options = RECORD_IGNORED): { message: string; detail: Detail } {
  try {
    validateAgainstSchema(schema, obj, options);
  } catch (error) {
    expect(error).toBeInstanceOf(KintoError);
    const body = (error as KintoError).toBody();
    expect(body.code).toBe(400);
    expect(body.errno).toBe(107);
    expect(body.error).toBe('Invalid parameters');
    const details = body.details as Detail[];
    expect(details).toHaveLength(1);
    expect(details[0].location).toBe('body');
    return { message: body.message!, detail: details[0] };
  }
  throw new Error('expected a validation error');
}

function nested(depth: number, key: string, leaf: JsonValue): JsonObject {
  let value: JsonValue = leaf;
  for (let i = 0; i < depth; i++) value = { [key]: value };
  return value as JsonObject;
}

describe('pythonRepr', () => {
  it.each([
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [3, '3'],
    [-2.5, '-2.5'],
    [1.5e-7, '1.5e-07'],
    [1e300, '1e+300'],
    [0.0001, '0.0001'],
    ['a', "'a'"],
    ["it's", '"it\'s"'],
    ['both \' and "', "'both \\' and \"'"],
    ['tab\tnl\n\u0001\u00a0é', "'tab\\tnl\\n\\x01\\xa0é'"],
    [[1, 'a', [null]], "[1, 'a', [None]]"],
    [{ a: { b: [] } }, "{'a': {'b': []}}"],
  ] as Array<[JsonValue, string]>)('repr(%j) is %s', (value, expected) => {
    expect(pythonRepr(value)).toBe(expected);
  });

  it('caps the depth instead of overflowing', () => {
    expect(pythonRepr(nested(10_000, 'a', 1))).toMatch(/^\{'a': \{'a': .*\{\.\.\.\}\}+$/);
  });
});

describe('checkSchemaDefinition', () => {
  it('accepts valid draft-07 schemas, including unresolvable $ref (they fail on use)', () => {
    expect(checkSchemaDefinition(SCHEMA)).toBeNull();
    expect(checkSchemaDefinition({})).toBeNull();
    expect(checkSchemaDefinition({ properties: { a: { $ref: '#/definitions/missing' } } })).toBeNull();
    expect(checkSchemaDefinition({ $schema: 'https://json-schema.org/draft/2020-12/schema', prefixItems: [{}] })).toBeNull();
    expect(checkSchemaDefinition({ $id: 'http://example.com/s', definitions: { a: { type: 'string' } } })).toBeNull();
  });

  it('glues the failing key to python-jsonschema message, like Kinto', () => {
    expect(checkSchemaDefinition({ ...SCHEMA, type: 'Washmachine' })).toBe(
      "type'Washmachine' is not valid under any of the given schemas",
    );
    expect(checkSchemaDefinition({ properties: 5 })).toBe("properties5 is not of type 'object'");
    expect(checkSchemaDefinition({ required: 'title' })).toBe("required'title' is not of type 'array'");
    expect(checkSchemaDefinition({ properties: { a: { minLength: -1 } } })).toBe('minLength-1 is less than the minimum of 0');
    expect(checkSchemaDefinition({ properties: { a: { pattern: '[' } } })).toBe("pattern'[' is not a 'regex'");
  });

  it('rejects non-mappings with colander wording', () => {
    expect(checkSchemaDefinition([1])).toBe('"[1]" is not a mapping type: Does not implement dict-like functionality.');
    expect(checkSchemaDefinition('abc')).toBe('"abc" is not a mapping type: Does not implement dict-like functionality.');
    expect(checkSchemaDefinition(null)).toBe('"None" is not a mapping type: Does not implement dict-like functionality.');
  });

  it('refuses schemas nested too deeply, up to 10,000 levels, without overflowing', () => {
    expect(checkSchemaDefinition(nested(MAX_SCHEMA_DEPTH - 2, 'not', {}))).toBeNull();
    for (const depth of [MAX_SCHEMA_DEPTH + 1, 10_000]) {
      expect(checkSchemaDefinition(nested(depth, 'not', {}))).toBe(`schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
    }
  });
});

describe('validateAgainstSchema (Kinto schema tests)', () => {
  it('accepts a valid record and ignores internal fields', () => {
    const record = { id: 'abc', last_modified: 1, schema: 2, __permissions__: {}, title: 'b', tags: ['x'] };
    expect(() => validateAgainstSchema({ ...SCHEMA, additionalProperties: false }, record, RECORD_IGNORED)).not.toThrow();
  });

  it('reports a missing required property', () => {
    const { message, detail } = failure(SCHEMA, { body: '<h1>Without title</h1>' });
    expect(message).toBe("'title' is a required property");
    expect(detail).toEqual({ location: 'body', name: 'title', description: "'title' is a required property" });
  });

  it('names the field with the last element of the path', () => {
    const { message, detail } = failure(SCHEMA, { title: 'Some title', file: { size: 'hi!' } });
    expect(message).toBe("size in body: 'hi!' is not of type 'number'");
    expect(detail.name).toBe('size');
    expect(failure(SCHEMA, { title: 'a', tags: [0] }).detail).toEqual({
      location: 'body',
      name: '0',
      description: "0 is not of type 'string'",
    });
  });

  it('lists every unexpected property, sorted', () => {
    const schema = { ...SCHEMA, additionalProperties: false };
    const { message, detail } = failure(schema, { title: 'a', zzz: 1, extra: 2 });
    expect(detail.name).toBe('additionalProperties');
    expect(message).toBe("additionalProperties in body: Additional properties are not allowed ('extra', 'zzz' were unexpected)");
    expect(failure(schema, { title: 'a', extra: 2 }).message).toMatch(/\('extra' was unexpected\)$/);
  });

  it('ignores id unless the schema declares it (Kinto#1942)', () => {
    const closed = { type: 'object', additionalProperties: false };
    expect(() => validateAgainstSchema(closed, { id: 'a', last_modified: 1 }, RECORD_IGNORED)).not.toThrow();
    const declared = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-7]$' } } };
    expect(() => validateAgainstSchema(declared, { id: '4' }, RECORD_IGNORED)).not.toThrow();
    expect(failure(declared, { id: 'a' }).message).toBe("id in body: 'a' does not match '^[0-7]$'");
    expect(() => validateAgainstSchema(declared, { x: 1 }, { ...RECORD_IGNORED, idField: 'x' })).not.toThrow();
  });

  it('strips required entries of ignored fields (Kinto#1244)', () => {
    const schema = { ...SCHEMA, required: ['id', 'schema', 'last_modified'] };
    expect(() => validateAgainstSchema(schema, {}, RECORD_IGNORED)).not.toThrow();
    const withBody = { ...schema, required: ['id', 'schema', 'last_modified', 'body'] };
    expect(failure(withBody, { id: 'abc', last_modified: 1234 }).message).toBe("'body' is a required property");
  });

  it('reports an unknown required property on every call (Kinto#1243)', () => {
    const schema = { ...SCHEMA, required: ['unknown'] };
    for (let i = 0; i < 2; i++) expect(failure(schema, { title: 'bug 1243' }).message).toBe("'unknown' is a required property");
  });

  it('uses the last required entry as name, like Kinto does', () => {
    const { message, detail } = failure({ required: ['title', 'body'] }, { body: 'x' });
    expect(detail).toEqual({ location: 'body', name: 'body', description: "'title' is a required property" });
    expect(message).toBe("body in body: 'title' is a required property");
  });

  it('reports unresolvable references under the name schema, only when they are used', () => {
    const schema = { properties: { title: { $ref: '#/definitions/title' } } };
    expect(() => validateAgainstSchema(schema, { body: 'b' }, RECORD_IGNORED)).not.toThrow();
    const { detail } = failure(schema, { title: 'b' });
    expect(detail).toEqual({
      location: 'body',
      name: 'schema',
      description:
        "PointerToNowhere: '/definitions/title' does not exist within {'properties': {'title': {'$ref': '#/definitions/title'}}}",
    });
    const inAnyOf: JsonObject = { properties: { a: { anyOf: [{ type: 'string' }, { $ref: '#/definitions/x' }] } } };
    expect(failure(inAnyOf, { a: 1 }).detail.name).toBe('schema');
    const remote = { properties: { a: { $ref: 'http://example.com/remote.json' } } };
    expect(failure(remote, { a: 1 }).detail.description).toBe('Unresolvable: http://example.com/remote.json');
  });

  it('resolves local definitions', () => {
    const schema = { definitions: { title: { type: 'string' } }, properties: { title: { $ref: '#/definitions/title' } } };
    expect(() => validateAgainstSchema(schema, { title: 'b' }, RECORD_IGNORED)).not.toThrow();
    expect(failure(schema, { title: 1 }).message).toBe("title in body: 1 is not of type 'string'");
  });

  it('does not assert formats (python-jsonschema default)', () => {
    expect(() => validateAgainstSchema({ properties: { a: { format: 'email' } } }, { a: 'nope' }, RECORD_IGNORED)).not.toThrow();
  });

  it('lets two schemas declare the same $id', () => {
    const one = { $id: 'http://example.com/same', properties: { a: { type: 'string' } } };
    const two = { $id: 'http://example.com/same', properties: { a: { type: 'number' } } };
    expect(() => validateAgainstSchema(one, { a: 's' }, RECORD_IGNORED)).not.toThrow();
    expect(() => validateAgainstSchema(two, { a: 1 }, RECORD_IGNORED)).not.toThrow();
    expect(failure(two, { a: 's' }).detail.description).toBe("'s' is not of type 'number'");
  });

  it('picks the draft from $schema (draft-07 by default)', () => {
    const tuple = { properties: { t: { items: [{ type: 'string' }], additionalItems: false } } };
    expect(failure(tuple, { t: ['a', 1, 2] }).detail.description).toBe('Additional items are not allowed (1, 2 were unexpected)');
    const draft2020 = { $schema: 'https://json-schema.org/draft/2020-12/schema', unevaluatedProperties: false, properties: { a: {} } };
    expect(failure(draft2020, { a: 1, b: 2 }).detail.description).toBe("Unevaluated properties are not allowed ('b' was unexpected)");
    const draft2019 = { $schema: 'https://json-schema.org/draft/2019-09/schema', dependentRequired: { a: ['b'] } };
    expect(failure(draft2019, { a: 1 }).detail.description).toBe("'b' is a dependency of 'a'");
  });

  it('keeps working after the cache evicts validators', () => {
    for (let i = 0; i < 300; i++) {
      validateAgainstSchema({ properties: { n: { const: i } } }, { n: i }, RECORD_IGNORED);
    }
    expect(failure({ properties: { n: { const: 0 } } }, { n: 1 }).detail.description).toBe('0 was expected');
    expect(failure(JSON.parse(JSON.stringify(SCHEMA)), {}).detail.name).toBe('title');
  });

  it('400s on schemas or data nested 10,000 levels deep', () => {
    const deepSchema = nested(10_000, 'not', {});
    expect(failure(deepSchema, {}).detail.name).toBe('schema');
    const recursive = { type: 'object', additionalProperties: { $ref: '#' } };
    expect(() => validateAgainstSchema(recursive, nested(50, 'a', {}), RECORD_IGNORED)).not.toThrow();
    try {
      validateAgainstSchema(recursive, nested(10_000, 'a', {}), RECORD_IGNORED);
    } catch (error) {
      expect(error).toBeInstanceOf(KintoError);
      expect((error as KintoError).status).toBe(400);
    }
    const leaf = failure(recursive, nested(10_000, 'a', 5));
    expect(leaf.detail.name === 'a' || leaf.detail.name === null).toBe(true);
  });
});

describe('python-jsonschema wording', () => {
  const cases: Array<[string, JsonObject, JsonValue, string, string]> = [
    ['type list', { type: ['string', 'null'] }, 1, 'a', "1 is not of type 'string', 'null'"],
    ['enum', { enum: ['a', 'b'] }, 'x', 'a', "'x' is not one of ['a', 'b']"],
    ['const', { const: 'a' }, 'x', 'a', "'a' was expected"],
    ['minimum', { minimum: 5 }, 1, 'a', '1 is less than the minimum of 5'],
    ['maximum', { maximum: 5 }, 6, 'a', '6 is greater than the maximum of 5'],
    ['exclusiveMinimum', { exclusiveMinimum: 5 }, 5, 'a', '5 is less than or equal to the minimum of 5'],
    ['exclusiveMaximum', { exclusiveMaximum: 5 }, 5, 'a', '5 is greater than or equal to the maximum of 5'],
    ['multipleOf', { multipleOf: 3 }, 4, 'a', '4 is not a multiple of 3'],
    ['minLength 1', { minLength: 1 }, '', 'a', "'' should be non-empty"],
    ['minLength', { minLength: 3 }, 'ab', 'a', "'ab' is too short"],
    ['maxLength 0', { maxLength: 0 }, 'ab', 'a', "'ab' is expected to be empty"],
    ['maxLength', { maxLength: 1 }, 'ab', 'a', "'ab' is too long"],
    ['minItems', { minItems: 2 }, [1], 'a', '[1] is too short'],
    ['maxItems', { maxItems: 1 }, [1, 2], 'a', '[1, 2] is too long'],
    ['minProperties', { minProperties: 2 }, { x: 1 }, 'a', "{'x': 1} does not have enough properties"],
    ['maxProperties', { maxProperties: 0 }, { x: 1 }, 'a', "{'x': 1} is expected to be empty"],
    ['uniqueItems', { uniqueItems: true }, [1, 1], 'a', '[1, 1] has non-unique elements'],
    ['pattern', { pattern: '^a' }, 'b', 'a', "'b' does not match '^a'"],
    ['contains', { contains: { type: 'string' } }, [1], 'a', 'None of [1] are valid under the given schema'],
    ['dependencies', { dependencies: { x: ['y', 'z'] } }, { x: 1, y: 1 }, 'a', "'z' is a dependency of 'x'"],
    ['not', { not: { type: 'string' } }, 's', 'a', "'s' should not be valid under {'type': 'string'}"],
    ['anyOf', { anyOf: [{ type: 'string' }, { type: 'integer' }] }, 1.5, 'a', '1.5 is not valid under any of the given schemas'],
    ['oneOf none', { oneOf: [{ type: 'string' }] }, 1, 'a', '1 is not valid under any of the given schemas'],
    ['oneOf many', { oneOf: [{ type: 'number' }, { type: 'integer' }] }, 1, 'a', "1 is valid under each of {'type': 'integer'}, {'type': 'number'}"],
    ['false schema', false as unknown as JsonObject, 1, 'a', 'False schema does not allow 1'],
    ['if/then', { if: { type: 'number' }, then: { minimum: 5 } }, 1, 'a', '1 is less than the minimum of 5'],
    ['nested required', { required: ['x'] }, {}, 'a', "'x' is a required property"],
    ['propertyNames', { propertyNames: { pattern: '^x' } }, { y: 1 }, 'a', "'y' does not match '^x'"],
    ['patternProperties', { patternProperties: { '^x': {} }, additionalProperties: false }, { y: 1 }, 'a', "'y' does not match any of the regexes: '^x'"],
  ];
  it.each(cases)('%s', (_label, subschema, value, name, description) => {
    const { detail } = failure({ properties: { a: subschema } }, { a: value });
    expect(detail).toEqual({ location: 'body', name, description });
  });

  it('falls back on the keyword value, then the schema path, at the root', () => {
    expect(failure({ type: 'array' }, {}).detail.name).toBe('y'); // 'array'[-1], as in Kinto
    expect(failure({ enum: [{ a: 1 }, 'last'] }, { b: 1 }).detail.name).toBe('last');
    expect(failure({ allOf: [{ additionalProperties: false }] }, { b: 1 }).detail.name).toBe('additionalProperties');
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: random schemas and objects. Only a 400 KintoError may escape.

// Seeded and reproducible: the shared generator of the fuzz tests.
const mulberry32 = seededRandom;

const FIELDS = ['a', 'b', 'id', 'last_modified', 'schema', '__proto__'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function randomValue(random: () => number, depth: number): JsonValue {
  const kind = Math.floor(random() * (depth > 2 ? 5 : 7));
  if (kind === 0) return null;
  if (kind === 1) return random() < 0.5;
  if (kind === 2) return pick(random, [-1, 0, 1, 2.5, 3, 1e20]);
  if (kind === 3) return pick(random, ['', 'a', 'abc', '^a', '[', 'string']);
  if (kind === 4) return pick(random, [[], {}]);
  if (kind === 5) return Array.from({ length: Math.floor(random() * 3) }, () => randomValue(random, depth + 1));
  const object: JsonObject = {};
  for (let i = Math.floor(random() * 3); i > 0; i--) object[pick(random, FIELDS)] = randomValue(random, depth + 1);
  return object;
}

function randomSchema(random: () => number, depth: number): JsonValue {
  if (random() < 0.05) return random() < 0.5;
  const schema: JsonObject = {};
  const keywords = Math.floor(random() * 3);
  for (let i = 0; i < keywords; i++) {
    const keyword = pick(random, [
      'type', 'enum', 'const', 'minimum', 'maxLength', 'pattern', 'required', 'properties', 'items',
      'additionalProperties', 'anyOf', 'oneOf', 'not', 'if', 'then', '$ref', 'minItems', 'uniqueItems',
      'propertyNames', 'dependencies', 'contains', 'multipleOf', 'format',
    ]);
    const sub = () => (depth < 3 ? randomSchema(random, depth + 1) : {});
    if (['properties', 'dependencies'].includes(keyword)) schema[keyword] = { [pick(random, FIELDS)]: sub() };
    else if (['anyOf', 'oneOf'].includes(keyword)) schema[keyword] = [sub(), sub()];
    else if (['items', 'additionalProperties', 'not', 'if', 'then', 'propertyNames', 'contains'].includes(keyword)) schema[keyword] = sub();
    else if (keyword === 'type') schema.type = pick(random, ['string', 'object', ['number', 'null'], 'Washmachine', 3]);
    else if (keyword === 'required') schema.required = random() < 0.9 ? [pick(random, FIELDS), pick(random, FIELDS)] : 'a';
    else if (keyword === '$ref') schema.$ref = pick(random, ['#', '#/definitions/x', '#/properties', 'http://x/y']);
    else schema[keyword] = randomValue(random, 2);
  }
  return schema;
}

describe('fuzz', () => {
  it('random schemas and objects', () => {
    const random = mulberry32(4242);
    const outcomes = { invalidSchema: 0, valid: 0, invalid: 0 };
    for (let round = 0; round < 1500; round++) {
      const schema = randomSchema(random, 0);
      const problem = checkSchemaDefinition(schema);
      if (problem !== null) {
        expect(typeof problem).toBe('string');
        outcomes.invalidSchema++;
        continue;
      }
      for (let n = 0; n < 3; n++) {
        const value = randomValue(random, 0);
        const obj = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { a: value }) as JsonObject;
        try {
          validateAgainstSchema(schema as JsonObject, obj, RECORD_IGNORED);
          outcomes.valid++;
        } catch (error) {
          if (!(error instanceof KintoError)) throw error;
          expect(error.status).toBe(400);
          const [detail] = error.toBody().details as Detail[];
          expect(typeof detail.description).toBe('string');
          expect(detail.description.length).toBeGreaterThan(0);
          outcomes.invalid++;
        }
      }
    }
    expect(outcomes.invalidSchema).toBeGreaterThan(50);
    expect(outcomes.valid).toBeGreaterThan(50);
    expect(outcomes.invalid).toBeGreaterThan(50);
  });
});
