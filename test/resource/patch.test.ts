import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../core/filters/ast.ts';
import { KintoError } from '../../core/errors.ts';
import {
  applyJsonPatch,
  applyKintoJsonPatch,
  applyMergePatch,
  cloneJson,
  jsonEqual,
  mergeDataShallow,
  mergePermissions,
  parseJsonPatchOperations,
} from '../../core/resource/patch.ts';
import { seededRandom } from '../filters/random.ts';

function catchError(fn: () => unknown): KintoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KintoError);
    return error as KintoError;
  }
  throw new Error('expected a KintoError');
}

function patchFailure(fn: () => unknown): string {
  const error = catchError(fn);
  expect(error.status).toBe(400);
  expect(error.errno).toBe(107);
  const body = error.toBody();
  expect(body.error).toBe('Invalid parameters');
  const details = body.details as Array<{ location: string; name: string | null; description: string }>;
  expect(details).toHaveLength(1);
  expect(details[0].location).toBe('body');
  expect(details[0].name).toBeNull();
  expect(body.message).toBe(`body: ${details[0].description}`);
  const prefix = 'JSON Patch operation failed: ';
  expect(details[0].description.startsWith(prefix)).toBe(true);
  return details[0].description.slice(prefix.length);
}

function nested(depth: number, leaf: JsonValue = 1): JsonObject {
  let value: JsonValue = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value as JsonObject;
}

describe('applyMergePatch (RFC 7396 appendix A)', () => {
  const cases: Array<[JsonValue, JsonValue, JsonValue]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('merges %j with %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('does not mutate its inputs nor share structure with them', () => {
    const target: JsonObject = { a: { b: [1] }, keep: { x: 1 } };
    const patch: JsonObject = { a: { c: { d: 1 } }, n: [{ e: 1 }] };
    const before = JSON.stringify([target, patch]);
    const result = applyMergePatch(target, patch) as JsonObject;
    expect(JSON.stringify([target, patch])).toBe(before);
    ((result.n as JsonObject[])[0] as JsonObject).e = 2;
    (result.keep as JsonObject).x = 5;
    expect(JSON.stringify([target, patch])).toBe(before);
  });

  it('treats __proto__ as a plain key', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}}') as JsonObject;
    const result = applyMergePatch({}, patch) as JsonObject;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('handles 10,000 levels of nesting', () => {
    const result = applyMergePatch(nested(10_000, 1), nested(10_000, 2));
    expect(jsonEqual(result, nested(10_000, 2))).toBe(true);
    expect(jsonEqual(result, nested(10_000, 1))).toBe(false);
  });
});

describe('mergeDataShallow', () => {
  it('replaces top-level keys and stores null', () => {
    const existing = { a: { x: 1, y: 2 }, b: 1, c: 'kept' };
    const result = mergeDataShallow(existing, { a: { x: 3 }, b: null });
    expect(result).toEqual({ a: { x: 3 }, b: null, c: 'kept' });
    expect(existing).toEqual({ a: { x: 1, y: 2 }, b: 1, c: 'kept' });
  });
});

describe('applyJsonPatch (RFC 6902 appendix A)', () => {
  it('A.1 adds an object member', () => {
    expect(applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }])).toEqual({ baz: 'qux', foo: 'bar' });
  });
  it('A.2 adds an array element', () => {
    const doc = { foo: ['bar', 'baz'] };
    expect(applyJsonPatch(doc, [{ op: 'add', path: '/foo/1', value: 'qux' }])).toEqual({ foo: ['bar', 'qux', 'baz'] });
  });
  it('A.3 removes an object member', () => {
    expect(applyJsonPatch({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }])).toEqual({ foo: 'bar' });
  });
  it('A.4 removes an array element', () => {
    const doc = { foo: ['bar', 'qux', 'baz'] };
    expect(applyJsonPatch(doc, [{ op: 'remove', path: '/foo/1' }])).toEqual({ foo: ['bar', 'baz'] });
  });
  it('A.5 replaces a value', () => {
    const doc = { baz: 'qux', foo: 'bar' };
    expect(applyJsonPatch(doc, [{ op: 'replace', path: '/baz', value: 'boo' }])).toEqual({ baz: 'boo', foo: 'bar' });
  });
  it('A.6 moves a value', () => {
    const doc = { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } };
    const result = applyJsonPatch(doc, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]);
    expect(result).toEqual({ foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
  });
  it('A.7 moves an array element', () => {
    const doc = { foo: ['all', 'grass', 'cows', 'eat'] };
    const result = applyJsonPatch(doc, [{ op: 'move', from: '/foo/1', path: '/foo/3' }]);
    expect(result).toEqual({ foo: ['all', 'cows', 'eat', 'grass'] });
  });
  it('A.8 tests successfully', () => {
    const doc = { baz: 'qux', foo: ['a', 2, 'c'] };
    const ops = [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
    ];
    expect(applyJsonPatch(doc, ops)).toEqual(doc);
  });
  it('A.9 fails a test', () => {
    const reason = patchFailure(() => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]));
    expect(reason).toBe("qux (<class 'str'>) is not equal to tested value bar (<class 'str'>)");
  });
  it('A.10 adds a nested member object', () => {
    const result = applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }]);
    expect(result).toEqual({ foo: 'bar', child: { grandchild: {} } });
  });
  it('A.11 rejects unrecognized elements (Kinto is stricter than the RFC)', () => {
    const error = catchError(() => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }]));
    expect(error.toBody().details).toEqual([
      { location: 'body', name: '0', description: 'Unrecognized keys in mapping: "{\'xyz\': 123}"' },
    ]);
    expect(error.message).toBe('0 in body: Unrecognized keys in mapping: "{\'xyz\': 123}"');
  });
  it('A.12 fails to add to a nonexistent target', () => {
    const reason = patchFailure(() => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]));
    expect(reason).toBe("member 'baz' not found in {'foo': 'bar'}");
  });
  it('A.14 unescapes ~01 as ~1', () => {
    const doc = { '/': 9, '~1': 10 };
    expect(applyJsonPatch(doc, [{ op: 'test', path: '/~01', value: 10 }])).toEqual(doc);
    expect(applyJsonPatch(doc, [{ op: 'remove', path: '/~1' }])).toEqual({ '~1': 10 });
  });
  it('A.15 compares strings and numbers strictly', () => {
    const reason = patchFailure(() => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]));
    expect(reason).toBe("10 (<class 'int'>) is not equal to tested value 10 (<class 'str'>)");
  });
  it('A.16 adds an array value', () => {
    const result = applyJsonPatch({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]);
    expect(result).toEqual({ foo: ['bar', ['abc', 'def']] });
  });

  it('applies operations in sequence and leaves the input untouched', () => {
    const doc = { a: 'aaa', b: ['bb', 'bbb'], d: [] as JsonValue[] };
    const before = JSON.stringify(doc);
    const result = applyJsonPatch(doc, [
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'copy', from: '/b/1', path: '/d/0' },
      { op: 'move', from: '/b/0', path: '/e' },
      { op: 'replace', path: '/a', value: { x: [1] } },
      { op: 'test', path: '/a', value: { x: [1] } },
    ]);
    expect(result).toEqual({ a: { x: [1] }, b: ['bbb'], c: 'aaa', d: ['bbb'], e: 'bb' });
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('moving a value onto itself is a no-op', () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: 'move', from: '/a', path: '/a' }])).toEqual({ a: 1 });
  });

  it('does not see inherited properties as members', () => {
    expect(patchFailure(() => applyJsonPatch({}, [{ op: 'remove', path: '/toString' }]))).toBe(
      "can't remove a non-existent object 'toString'",
    );
    const result = applyJsonPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const failures: Array<[string, JsonObject, JsonValue[], string]> = [
    ['remove missing', { a: 1 }, [{ op: 'remove', path: '/f' }], "can't remove a non-existent object 'f'"],
    ['remove past end', { a: [1] }, [{ op: 'remove', path: '/a/1' }], "can't remove a non-existent object '1'"],
    ['remove -', { a: [1] }, [{ op: 'remove', path: '/a/-' }], "invalid array index '-'"],
    ['replace missing', { a: 1 }, [{ op: 'replace', path: '/c', value: 1 }], "can't replace a non-existent object 'c'"],
    ['replace past end', { a: [] }, [{ op: 'replace', path: '/a/0', value: 1 }], "can't replace outside of list"],
    ['replace -', { a: [] }, [{ op: 'replace', path: '/a/-', value: 1 }], "'path' with '-' can't be applied to 'replace' operation"],
    ['replace in scalar', { a: 's' }, [{ op: 'replace', path: '/a/b', value: 1 }], 'unable to fully resolve json pointer /a/b, part b'],
    ['add outside list', { a: [] }, [{ op: 'add', path: '/a/2', value: 1 }], "can't insert outside of list"],
    ['add in scalar', { a: 1 }, [{ op: 'add', path: '/a/b', value: 1 }], 'unable to fully resolve json pointer /a/b, part b'],
    ['add bad index', { a: [] }, [{ op: 'add', path: '/a/01', value: 1 }], "'01' is not a valid sequence index"],
    ['add without value', { a: 1 }, [{ op: 'add', path: '/b' }], "The operation does not contain a 'value' member"],
    ['replace without value', { a: 1 }, [{ op: 'replace', path: '/a' }], "The operation does not contain a 'value' member"],
    ['test without value', { a: 1 }, [{ op: 'test', path: '/a' }], "The operation does not contain a 'value' member"],
    ['test missing', { a: 1 }, [{ op: 'test', path: '/b', value: 1 }], "member 'b' not found in {'a': 1}"],
    ['test out of bounds', { a: [] }, [{ op: 'test', path: '/a/3', value: 1 }], "index '3' is out of bounds"],
    ['move without from', { a: 1 }, [{ op: 'move', path: '/b' }], "The operation does not contain a 'from' member"],
    ['move missing', { a: 1 }, [{ op: 'move', from: '/f', path: '/what' }], "'f'"],
    ['copy missing', { a: [] }, [{ op: 'copy', from: '/a/0', path: '/f' }], 'list index out of range'],
    ['move into child', { a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], 'Cannot move values into their own children'],
    ['walk a number', { a: 1 }, [{ op: 'test', path: '/a/b', value: 1 }], "Document '<class 'int'>' does not support indexing, must be mapping/sequence or support __getitem__"],
    ['invalid escape', { a: 1 }, [{ op: 'add', path: '/a~2', value: 1 }], 'Found invalid escape ~2'],
    ['trailing tilde', { a: 1 }, [{ op: 'add', path: '/a~', value: 1 }], 'Found invalid escape ~'],
  ];
  it.each(failures)('fails with python-jsonpatch wording: %s', (_label, doc, ops, reason) => {
    expect(patchFailure(() => applyJsonPatch(doc, ops))).toBe(reason);
  });

  it('checks every path before applying the first operation', () => {
    const ops = [{ op: 'remove', path: '/missing' }, { op: 'add', path: '/x~9', value: 1 }];
    expect(patchFailure(() => applyJsonPatch({}, ops))).toBe('Found invalid escape ~9');
  });
});

describe('parseJsonPatchOperations (Kinto JsonPatchOperationSchema)', () => {
  function details(ops: unknown) {
    return catchError(() => parseJsonPatchOperations(ops)).toBody().details;
  }

  it('keeps value (even null) and drops an empty from', () => {
    expect(parseJsonPatchOperations([{ op: 'add', path: '/a', value: null, from: '' }])).toEqual([
      { op: 'add', path: '/a', value: null },
    ]);
  });

  it('rejects a body that is not a list', () => {
    const error = catchError(() => parseJsonPatchOperations({ op: 'add' }));
    expect(error.toBody().details).toEqual([
      { location: 'body', name: '', description: '"{\'op\': \'add\'}" is not iterable' },
    ]);
    expect(error.message).toBe('"{\'op\': \'add\'}" is not iterable');
    expect(details('add')).toEqual([{ location: 'body', name: '', description: '"add" is not iterable' }]);
  });

  it('reports every bad operation, sorted by name', () => {
    const error = catchError(() =>
      parseJsonPatchOperations([
        { op: 'bad', path: 'x' },
        null,
        { path: 1, from: 'nope' },
        { op: ['add'], path: '' },
      ]),
    );
    expect(error.toBody().details).toEqual([
      { location: 'body', name: '0.op', description: '"bad" is not one of test, add, remove, replace, move, copy' },
      { location: 'body', name: '0.path', description: 'String does not match expected pattern' },
      { location: 'body', name: '1', description: '"None" is not a mapping type: Does not implement dict-like functionality.' },
      { location: 'body', name: '2.from', description: 'String does not match expected pattern' },
      { location: 'body', name: '2.op', description: 'Required' },
      { location: 'body', name: '2.path', description: "1 is not a string: {'path': ''}" },
      { location: 'body', name: '3.op', description: "['add'] is not a string: {'op': ''}" },
      { location: 'body', name: '3.path', description: 'Required' },
    ]);
    expect(error.message).toBe('0.op in body: "bad" is not one of test, add, remove, replace, move, copy');
  });

  it('accepts any path starting with a slash, like the unanchored-end regex of Kinto', () => {
    expect(parseJsonPatchOperations([{ op: 'remove', path: '/a b/ü' }])).toHaveLength(1);
  });
});

describe('applyKintoJsonPatch', () => {
  const perms = { read: ['alice', 'carla'], write: ['bob'] };
  const record = { id: 'abc', last_modified: 12, a: 'aaa', b: ['bb', 'bbb'], d: [] as JsonValue[] };

  it('patches data (Kinto JsonPatchTest cases)', () => {
    const result = applyKintoJsonPatch(record, perms, [
      { op: 'add', path: '/data/c', value: 'ccc' },
      { op: 'add', path: '/data/b/1', value: 'ddd' },
      { op: 'add', path: '/data/b/-', value: 'eee' },
      { op: 'remove', path: '/data/a' },
    ]);
    expect(result.data).toEqual({ id: 'abc', last_modified: 12, b: ['bb', 'ddd', 'bbb', 'eee'], c: 'ccc', d: [] });
    expect(result.permissions).toEqual(perms);
  });

  it('adds a principal without value', () => {
    const result = applyKintoJsonPatch(record, perms, [{ op: 'add', path: '/permissions/read/me' }]);
    expect(result.permissions.read).toEqual(['alice', 'carla', 'me']);
  });

  it('replaces a whole ACE with a list', () => {
    const result = applyKintoJsonPatch(record, perms, [{ op: 'add', path: '/permissions/read', value: ['me', 'me'] }]);
    expect(result.permissions).toEqual({ read: ['me'], write: ['bob'] });
  });

  it('removes a principal and moves one into data', () => {
    const removed = applyKintoJsonPatch(record, perms, [{ op: 'remove', path: '/permissions/read/alice' }]);
    expect(removed.permissions.read).toEqual(['carla']);
    const moved = applyKintoJsonPatch(record, perms, [{ op: 'move', from: '/permissions/read/alice', path: '/data/old' }]);
    expect(moved.permissions.read).toEqual(['carla']);
    expect(moved.data.old).toBe('alice');
  });

  it('always offers read and write, decodes escaped principals, and tests membership', () => {
    const result = applyKintoJsonPatch({}, {}, [
      { op: 'add', path: '/permissions/write/~1buckets~1b~1groups~1g' },
      { op: 'test', path: '/permissions/write/~1buckets~1b~1groups~1g' },
    ]);
    expect(result.permissions).toEqual({ read: [], write: ['/buckets/b/groups/g'] });
  });

  it('400 on an unknown ACE path (Kinto test_patch_raises_400_on_wrong_path)', () => {
    // Only read/write principals get an implicit value; python-jsonpatch checks `value` first.
    expect(patchFailure(() => applyKintoJsonPatch(record, perms, [{ op: 'add', path: '/permissions/destroy/me' }]))).toBe(
      "The operation does not contain a 'value' member",
    );
    const withValue = [{ op: 'add', path: '/permissions/destroy/me', value: 'me' }];
    expect(patchFailure(() => applyKintoJsonPatch(record, perms, withValue))).toBe(
      "member 'destroy' not found in {'read': {'alice': 'alice', 'carla': 'carla'}, 'write': {'bob': 'bob'}}",
    );
  });

  it('400, not a crash, when data or permissions lose their shape', () => {
    const run = (ops: JsonValue[]) => patchFailure(() => applyKintoJsonPatch(record, perms, ops));
    expect(run([{ op: 'remove', path: '/data' }])).toBe("'data' must be an object");
    expect(run([{ op: 'replace', path: '/data', value: [1] }])).toBe("'data' must be an object");
    expect(run([{ op: 'remove', path: '/permissions' }])).toBe("'permissions' must be an object");
    expect(run([{ op: 'replace', path: '/permissions/read', value: 'x' }])).toBe("permission 'read' must be a list of principals");
    expect(run([{ op: 'replace', path: '/permissions/read', value: [1] }])).toBe("permission 'read' must be a list of principals");
  });

  it('does not mutate its inputs', () => {
    const ops = [{ op: 'add', path: '/permissions/read/me' }];
    const before = JSON.stringify([record, perms, ops]);
    applyKintoJsonPatch(record, perms, ops);
    expect(JSON.stringify([record, perms, ops])).toBe(before);
  });
});

describe('mergePermissions', () => {
  const allowed = ['read', 'write', 'record:create'] as const;
  const existing = { read: ['a'], write: ['w'] };

  it('leaves ACEs alone without a permissions key', () => {
    for (const mode of ['replace', 'merge', 'merge-patch'] as const) {
      expect(mergePermissions(existing, undefined, mode, allowed)).toEqual(existing);
    }
  });

  it('PUT replaces every ACE', () => {
    expect(mergePermissions(existing, { read: ['b'] }, 'replace', allowed)).toEqual({ read: ['b'], write: [], 'record:create': [] });
    expect(mergePermissions(existing, {}, 'replace', allowed)).toEqual(existing);
    expect(mergePermissions(existing, { read: null }, 'replace', allowed)).toEqual(existing);
  });

  it('plain PATCH replaces mentioned ACEs and ignores null', () => {
    expect(mergePermissions(existing, { read: ['b', 'b'], write: null }, 'merge', allowed)).toEqual({ read: ['b'], write: ['w'] });
  });

  it('merge-patch removes an ACE with null and keeps the others', () => {
    expect(mergePermissions(existing, { read: null, 'record:create': ['c'] }, 'merge-patch', allowed)).toEqual({
      read: [],
      write: ['w'],
      'record:create': ['c'],
    });
  });

  it('accepts null for unknown permissions (Kinto drops them before checking)', () => {
    expect(mergePermissions(existing, { foo: null }, 'merge', allowed)).toEqual(existing);
  });

  it('rejects unknown permissions and bad principals with colander wording', () => {
    const unknown = catchError(() => mergePermissions(existing, { read: [], destroy: ['x'] }, 'merge', allowed));
    expect(unknown.toBody()).toEqual({
      code: 400,
      errno: 107,
      error: 'Invalid parameters',
      message: 'permissions in body: "destroy" is not one of read, write, record:create',
      details: [{ location: 'body', name: 'permissions', description: '"destroy" is not one of read, write, record:create' }],
    });
    const notMapping = catchError(() => mergePermissions(existing, ['read'], 'merge', allowed));
    expect(notMapping.message).toBe(
      'permissions in body: "[\'read\']" is not a mapping type: Does not implement dict-like functionality.',
    );
    const badPrincipals = catchError(() => mergePermissions(existing, { read: ['ok', 3, ''], write: 'bob' }, 'merge', allowed));
    expect(badPrincipals.toBody().details).toEqual([
      { location: 'body', name: 'permissions.read.1', description: "3 is not a string: {'': ''}" },
      { location: 'body', name: 'permissions.read.2', description: 'Required' },
      { location: 'body', name: 'permissions.write', description: '"bob" is not iterable' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: only KintoError may escape, inputs are never mutated, results stay valid JSON.

// Seeded and reproducible: the shared generator of the fuzz tests.
const mulberry32 = seededRandom;

const KEYS = ['a', 'b', '0', '1', '-', '', '~', '/', '__proto__', 'toString', 'data', 'permissions', 'read', 'write'];

function randomValue(random: () => number, depth: number): JsonValue {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  if (pick === 0) return null;
  if (pick === 1) return random() < 0.5;
  if (pick === 2) return Math.floor(random() * 5) - 1;
  if (pick === 3) return KEYS[Math.floor(random() * KEYS.length)];
  if (pick === 4) return random() < 0.5 ? 1.5 : '';
  const size = Math.floor(random() * 4);
  if (pick === 5) return Array.from({ length: size }, () => randomValue(random, depth + 1));
  const object: JsonObject = {};
  for (let i = 0; i < size; i++) {
    const key = KEYS[Math.floor(random() * KEYS.length)];
    Object.defineProperty(object, key, { value: randomValue(random, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return object;
}

function randomPointer(random: () => number): JsonValue {
  if (random() < 0.05) return randomValue(random, 3);
  const length = Math.floor(random() * 4);
  const tokens = Array.from({ length }, () => {
    const key = KEYS[Math.floor(random() * KEYS.length)];
    return random() < 0.1 ? `${key}~${Math.floor(random() * 3)}` : key.replace(/~/g, '~0').replace(/\//g, '~1');
  });
  return `/${tokens.join('/')}`;
}

/** A pointer to something that exists in `doc` (or just past it), by a random walk. */
function existingPointer(random: () => number, doc: JsonValue): string {
  const tokens: string[] = [];
  let current = doc;
  while (typeof current === 'object' && current !== null && random() < 0.8) {
    const keys = Object.keys(current);
    if (keys.length === 0) break;
    const key = keys[Math.floor(random() * keys.length)];
    tokens.push(key.replace(/~/g, '~0').replace(/\//g, '~1'));
    current = (current as JsonObject)[key];
  }
  if (random() < 0.3) tokens.push(Array.isArray(current) ? '-' : 'new');
  return `/${tokens.join('/')}`;
}

function randomOperation(random: () => number, doc: JsonValue): JsonValue {
  const ops = ['test', 'add', 'remove', 'replace', 'move', 'copy', 'add', 'replace', 'bad'];
  const pointer = () => (random() < 0.7 ? existingPointer(random, doc) : randomPointer(random));
  const operation: JsonObject = { op: ops[Math.floor(random() * ops.length)], path: pointer() };
  if (random() < 0.5) operation.from = pointer();
  if (random() < 0.7) operation.value = randomValue(random, 1);
  if (random() < 0.03) operation.extra = 1;
  if (random() < 0.03) delete operation.op;
  return random() < 0.02 ? randomValue(random, 2) : operation;
}

function expectOnlyKintoErrors(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof KintoError)) throw error;
    expect(error.status).toBe(400);
    return error;
  }
}

describe('fuzz', () => {
  it('JSON patch on random documents', () => {
    const random = mulberry32(20240611);
    let applied = 0;
    for (let round = 0; round < 3000; round++) {
      const doc = randomValue(random, 0);
      const document = (typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? doc : { a: doc }) as JsonObject;
      const ops = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomOperation(random, document));
      const permissions = { read: ['a', 'b'], write: ['w'] };
      const before = JSON.stringify([document, ops]);
      const result = expectOnlyKintoErrors(() => applyJsonPatch(document, ops));
      if (!(result instanceof KintoError)) {
        applied++;
        expect(JSON.parse(JSON.stringify(result))).toEqual(result);
      }
      const kintoOps = ops.map((op) => {
        if (typeof op !== 'object' || op === null || Array.isArray(op) || typeof op.path !== 'string') return op;
        const prefix = ['/data', '/permissions', '/permissions/read', ''][Math.floor(random() * 4)];
        return { ...op, path: `${prefix}${op.path}` };
      });
      expectOnlyKintoErrors(() => applyKintoJsonPatch(document, permissions, kintoOps));
      expect(JSON.stringify([document, ops])).toBe(before);
    }
    // Both outcomes must be exercised for the loop to mean anything.
    expect(applied).toBeGreaterThan(100);
    expect(applied).toBeLessThan(2900);
  });

  it('merge patch matches a reference implementation', () => {
    const reference = (target: JsonValue, patch: JsonValue): JsonValue => {
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
      const out: JsonObject = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete out[key];
        else Object.defineProperty(out, key, { value: reference(out[key] ?? null, value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    };
    const random = mulberry32(7);
    for (let round = 0; round < 3000; round++) {
      const target = randomValue(random, 0);
      const patch = randomValue(random, 0);
      const before = JSON.stringify([target, patch]);
      const expected = reference(cloneJson(target), cloneJson(patch));
      expect(jsonEqual(applyMergePatch(target, patch), expected)).toBe(true);
      expect(JSON.stringify([target, patch])).toBe(before);
    }
  });

  it('random permission payloads', () => {
    const random = mulberry32(99);
    for (let round = 0; round < 2000; round++) {
      const changes = randomValue(random, 1);
      const mode = (['replace', 'merge', 'merge-patch'] as const)[round % 3];
      const result = expectOnlyKintoErrors(() => mergePermissions({ read: ['x'] }, changes, mode, ['read', 'write']));
      if (!(result instanceof KintoError)) {
        for (const principals of Object.values(result as Record<string, unknown>)) {
          expect(Array.isArray(principals) && principals.every((p) => typeof p === 'string')).toBe(true);
        }
      }
    }
  });

  it('10,000 levels deep documents, values and pointers', () => {
    const deep = nested(10_000);
    const deepPath = `/${Array.from({ length: 10_000 }, () => 'a').join('/')}`;
    const replaced = applyJsonPatch(deep, [{ op: 'replace', path: deepPath, value: 2 }]);
    expect(jsonEqual(replaced, nested(10_000, 2))).toBe(true);
    const tested = applyJsonPatch(deep, [{ op: 'test', path: deepPath, value: 1 }]);
    expect(tested !== deep && jsonEqual(tested, deep)).toBe(true); // vitest's own equality would recurse
    expect(patchFailure(() => applyJsonPatch(deep, [{ op: 'test', path: '/a', value: nested(10_000, 3) }]))).toMatch(
      /is not equal to tested value/,
    );
    const copied = applyKintoJsonPatch(deep, {}, [{ op: 'copy', from: '/data/a', path: '/data/b' }]);
    expect(jsonEqual(copied.data.b, deep.a)).toBe(true);
    expect(patchFailure(() => applyJsonPatch(deep, [{ op: 'move', from: '/a', path: `${deepPath}/b` }]))).toBe(
      'Cannot move values into their own children',
    );
    expect(mergeDataShallow(deep, { b: nested(10_000) }).b).toBeDefined();
  });
});
