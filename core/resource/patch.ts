/**
 * The three PATCH flavours of Kinto (plain JSON, RFC 7396 merge-patch, RFC 6902 JSON-patch)
 * and the ACE update rules that go with them. Everything here is pure: inputs are never
 * mutated, and every walk over a document is iterative so that deeply nested bodies cannot
 * overflow the stack. Failure messages follow python-jsonpatch / colander, as Kinto shows them.
 */
import type { JsonObject, JsonValue } from '../filters/ast.ts';
import { KintoError, invalidParameters, validationError } from '../errors.ts';
import type { ValidationDetail } from '../errors.ts';
import { pythonRepr, pythonStr } from './json-schema.ts';

export const JSON_PATCH_OPS = ['test', 'add', 'remove', 'replace', 'move', 'copy'] as const;
export type JsonPatchOp = (typeof JSON_PATCH_OPS)[number];

export interface JsonPatchOperation {
  op: JsonPatchOp;
  path: string;
  from?: string;
  value?: JsonValue;
}

export type PermissionsMode = 'replace' | 'merge' | 'merge-patch';

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** `obj[key] = value` that also works for `__proto__` (which would otherwise set the prototype). */
function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Deep copy of a JSON value, iterative so that depth is only bounded by memory. */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const root: JsonValue = Array.isArray(value) ? [] : {};
  const stack: Array<[JsonValue, JsonValue]> = [[value, root]];
  while (stack.length > 0) {
    const [source, target] = stack.pop()!;
    for (const [key, child] of Object.entries(source as JsonObject)) {
      let copy: JsonValue = child;
      if (typeof child === 'object' && child !== null) {
        copy = Array.isArray(child) ? [] : {};
        stack.push([child, copy]);
      }
      if (Array.isArray(target)) target.push(copy);
      else setOwn(target as JsonObject, key, copy);
    }
  }
  return root as T;
}

/** JSON equality (RFC 6902 §4.6): key order ignored, `1` and `true` differ. Iterative. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  const stack: Array<[JsonValue, JsonValue]> = [[a, b]];
  while (stack.length > 0) {
    const [left, right] = stack.pop()!;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
    if (Array.isArray(left) !== Array.isArray(right)) return false;
    const leftKeys = Object.keys(left);
    if (leftKeys.length !== Object.keys(right).length) return false;
    for (const key of leftKeys) {
      if (!hasOwn(right, key)) return false;
      stack.push([(left as JsonObject)[key], (right as JsonObject)[key]]);
    }
  }
  return true;
}

/** RFC 7396 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function applyMergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  const stack: Array<[JsonObject, JsonObject]> = [[result, patch]];
  while (stack.length > 0) {
    const [into, changes] = stack.pop()!;
    for (const [key, change] of Object.entries(changes)) {
      if (change === null) {
        delete into[key];
      } else if (isJsonObject(change)) {
        const current = hasOwn(into, key) ? into[key] : undefined;
        const child: JsonObject = isJsonObject(current) ? current : {};
        setOwn(into, key, child);
        stack.push([child, change]);
      } else {
        setOwn(into, key, cloneJson(change));
      }
    }
  }
  return result;
}

/** Plain `application/json` PATCH: top-level keys replaced, `null` kept as a value. */
export function mergeDataShallow(existing: JsonObject, changes: JsonObject): JsonObject {
  const result: JsonObject = { ...existing };
  for (const [key, value] of Object.entries(changes)) setOwn(result, key, cloneJson(value));
  return result;
}

// ---------------------------------------------------------------------------------------------
// JSON-patch operations: shape validation (Kinto's JsonPatchOperationSchema through colander)

const OPERATION_KEYS = new Set(['op', 'path', 'from', 'value']);

/** Python truthiness: colander turns falsy values into "missing". */
function isFalsy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (isJsonObject(value)) return Object.keys(value).length === 0;
  return value === null || value === undefined || value === false || value === 0 || value === '';
}

/** colander.String: missing/falsy → "Required", non-strings rejected. Returns the error or null. */
function stringFieldError(item: JsonObject, field: string): string | null {
  if (!hasOwn(item, field) || isFalsy(item[field])) return 'Required';
  if (typeof item[field] !== 'string') return `${pythonStr(item[field])} is not a string: {'${field}': ''}`;
  return null;
}

function operationErrors(item: unknown, index: number): ValidationDetail[] {
  const detail = (suffix: string, description: string) => ({
    location: 'body',
    name: suffix ? `${index}.${suffix}` : `${index}`,
    description,
  });
  if (!isJsonObject(item)) {
    return [detail('', `"${pythonStr(item)}" is not a mapping type: Does not implement dict-like functionality.`)];
  }
  const unknown = Object.keys(item).filter((key) => !OPERATION_KEYS.has(key));
  if (unknown.length > 0) {
    const extra: JsonObject = {};
    for (const key of unknown) setOwn(extra, key, item[key]);
    return [detail('', `Unrecognized keys in mapping: "${pythonRepr(extra)}"`)];
  }
  const errors: ValidationDetail[] = [];
  const opError = stringFieldError(item, 'op');
  if (opError) errors.push(detail('op', opError));
  else if (!(JSON_PATCH_OPS as readonly string[]).includes(item.op as string)) {
    errors.push(detail('op', `"${item.op as string}" is not one of ${JSON_PATCH_OPS.join(', ')}`));
  }
  for (const field of ['path', 'from']) {
    if (field === 'from' && isFalsy(item.from)) continue; // colander drops an empty `from`
    const error = stringFieldError(item, field) ?? ((item[field] as string).startsWith('/') ? null : 'String does not match expected pattern');
    if (error) errors.push(detail(field, error));
  }
  return errors;
}

/** Validates a JSON-patch body like Kinto does; bad shapes → 400 with every detail. */
export function parseJsonPatchOperations(ops: unknown): JsonPatchOperation[] {
  if (!Array.isArray(ops)) throw invalidParameters('body', '', `"${pythonStr(ops)}" is not iterable`);
  const details = ops.flatMap((item, index) => operationErrors(item, index));
  if (details.length > 0) throw validationError(details);
  return ops.map((item: JsonObject) => {
    const operation: JsonPatchOperation = { op: item.op as JsonPatchOp, path: item.path as string };
    if (!isFalsy(item.from)) operation.from = item.from as string;
    if (hasOwn(item, 'value')) operation.value = item.value;
    return operation;
  });
}

// ---------------------------------------------------------------------------------------------
// JSON-patch application (RFC 6902, messages of python-jsonpatch / jsonpointer)

class PatchFailure extends Error {}

/** 400 of a JSON-patch that could not apply: Kinto raises it with no field name. */
function patchFailed(reason: string): KintoError {
  const description = `JSON Patch operation failed: ${reason}`;
  return new KintoError('INVALID_PARAMETERS', {
    message: `body: ${description}`,
    details: [{ location: 'body', name: null, description }],
  });
}

function parsePointer(pointer: string): string[] {
  const invalid = /~[^01]|~$/.exec(pointer);
  if (invalid) throw new PatchFailure(`Found invalid escape ${invalid[0]}`);
  return pointer.split('/').slice(1).map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pythonType(value: JsonValue): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dict';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'str';
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function arrayIndex(token: string): number {
  if (!ARRAY_INDEX.test(token)) throw new PatchFailure(`'${token}' is not a valid sequence index`);
  return Number(token);
}

function notIndexable(value: JsonValue): PatchFailure {
  return new PatchFailure(
    `Document '<class '${pythonType(value)}'>' does not support indexing, must be mapping/sequence or support __getitem__`,
  );
}

/** One step of a pointer walk (jsonpointer's `walk`). */
function walk(document: JsonValue, token: string): JsonValue {
  if (Array.isArray(document)) {
    const index = token === '-' ? document.length : arrayIndex(token);
    if (index >= document.length) throw new PatchFailure(`index '${token}' is out of bounds`);
    return document[index];
  }
  if (isJsonObject(document)) {
    if (!hasOwn(document, token)) throw new PatchFailure(`member '${token}' not found in ${pythonRepr(document)}`);
    return document[token];
  }
  throw notIndexable(document);
}

function walkToParent(root: JsonValue, tokens: string[]): JsonValue {
  let current = root;
  for (let i = 0; i < tokens.length - 1; i++) current = walk(current, tokens[i]);
  return current;
}

function addAt(root: JsonValue, tokens: string[], value: JsonValue, path: string): void {
  const parent = walkToParent(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last);
    if (index > parent.length) throw new PatchFailure("can't insert outside of list");
    parent.splice(index, 0, value);
  } else if (isJsonObject(parent)) {
    setOwn(parent, last, value);
  } else {
    throw new PatchFailure(`unable to fully resolve json pointer ${path}, part ${last}`);
  }
}

function removeAt(root: JsonValue, tokens: string[]): void {
  const parent = walkToParent(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') throw new PatchFailure("invalid array index '-'");
    const index = arrayIndex(last);
    if (index >= parent.length) throw new PatchFailure(`can't remove a non-existent object '${last}'`);
    parent.splice(index, 1);
  } else if (isJsonObject(parent) && hasOwn(parent, last)) {
    delete parent[last];
  } else {
    throw new PatchFailure(`can't remove a non-existent object '${last}'`);
  }
}

function replaceAt(root: JsonValue, tokens: string[], value: JsonValue, path: string): void {
  const parent = walkToParent(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') throw new PatchFailure("'path' with '-' can't be applied to 'replace' operation");
    const index = arrayIndex(last);
    if (index >= parent.length) throw new PatchFailure("can't replace outside of list");
    parent[index] = value;
  } else if (isJsonObject(parent)) {
    if (!hasOwn(parent, last)) throw new PatchFailure(`can't replace a non-existent object '${last}'`);
    setOwn(parent, last, value);
  } else {
    throw new PatchFailure(`unable to fully resolve json pointer ${path}, part ${last}`);
  }
}

/** Value read by move/copy (python's `subobj[part]`, hence its KeyError/IndexError texts). */
function sourceValue(root: JsonValue, tokens: string[]): JsonValue {
  const parent = walkToParent(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last);
    if (index >= parent.length) throw new PatchFailure('list index out of range');
    return parent[index];
  }
  if (isJsonObject(parent)) {
    if (!hasOwn(parent, last)) throw new PatchFailure(`'${last}'`);
    return parent[last];
  }
  throw notIndexable(parent);
}

function requireMember(operation: JsonPatchOperation, member: 'value' | 'from'): void {
  if (operation[member] === undefined) {
    throw new PatchFailure(`The operation does not contain a '${member}' member`);
  }
}

function isPrefix(prefix: string[], tokens: string[]): boolean {
  return prefix.length <= tokens.length && prefix.every((token, i) => tokens[i] === token);
}

function moveOrCopy(root: JsonValue, operation: JsonPatchOperation, tokens: string[]): void {
  requireMember(operation, 'from');
  const fromTokens = parsePointer(operation.from!);
  const value = sourceValue(root, fromTokens);
  if (operation.op === 'copy') return addAt(root, tokens, cloneJson(value), operation.path);
  if (fromTokens.length === tokens.length && isPrefix(fromTokens, tokens)) return;
  if (isPrefix(fromTokens, tokens)) throw new PatchFailure('Cannot move values into their own children');
  removeAt(root, fromTokens);
  addAt(root, tokens, value, operation.path);
}

function testAt(root: JsonValue, operation: JsonPatchOperation, tokens: string[]): void {
  let actual = root;
  for (const token of tokens) actual = walk(actual, token);
  requireMember(operation, 'value');
  const expected = operation.value!;
  if (!jsonEqual(actual, expected)) {
    throw new PatchFailure(
      `${pythonStr(actual)} (<class '${pythonType(actual)}'>) is not equal to tested value ` +
        `${pythonStr(expected)} (<class '${pythonType(expected)}'>)`,
    );
  }
}

function applyOperation(root: JsonValue, operation: JsonPatchOperation, tokens: string[]): void {
  if (operation.op === 'test') return testAt(root, operation, tokens);
  if (operation.op === 'remove') return removeAt(root, tokens);
  if (operation.op === 'move' || operation.op === 'copy') return moveOrCopy(root, operation, tokens);
  requireMember(operation, 'value');
  const value = cloneJson(operation.value!);
  if (operation.op === 'add') addAt(root, tokens, value, operation.path);
  else replaceAt(root, tokens, value, operation.path);
}

/** Applies validated operations in place on `root` (a private copy). */
function applyOperations(root: JsonObject, operations: JsonPatchOperation[]): void {
  try {
    // python-jsonpatch parses every `path` before applying the first operation.
    const paths = operations.map((operation) => parsePointer(operation.path));
    operations.forEach((operation, i) => applyOperation(root, operation, paths[i]));
  } catch (error) {
    if (error instanceof PatchFailure) throw patchFailed(error.message);
    throw error;
  }
}

/** RFC 6902 JSON patch on a plain document (the root itself cannot be targeted: paths start with `/`). */
export function applyJsonPatch(doc: JsonObject, ops: unknown): JsonObject {
  const operations = parseJsonPatchOperations(ops);
  const result = cloneJson(doc);
  applyOperations(result, operations);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Kinto's JSON-patch over `{"data": ..., "permissions": {"read": {p: p}, ...}}`

const IMPLICIT_VALUE_PREFIXES = ['/permissions/read/', '/permissions/write/'];

function permissionsDocument(permissions: Record<string, readonly string[]>): JsonObject {
  const document: JsonObject = { read: {}, write: {} };
  for (const [name, principals] of Object.entries(permissions)) {
    const ace: JsonObject = {};
    for (const principal of principals) setOwn(ace, principal, principal);
    setOwn(document, name, ace);
  }
  return document;
}

function principalsOf(name: string, ace: JsonValue): string[] {
  if (isJsonObject(ace)) return Object.keys(ace);
  if (Array.isArray(ace) && ace.every((principal) => typeof principal === 'string')) {
    return [...new Set(ace as string[])];
  }
  throw patchFailed(`permission '${name}' must be a list of principals`);
}

/**
 * Kinto's JSON-patch: ops address `/data/...` and `/permissions/<perm>/<principal>`; for
 * `read`/`write` principals the value is implicit. The returned permissions hold every ACE of
 * the patched document (at least `read` and `write`); pass them to
 * `mergePermissions(existing, result.permissions, 'merge', allowed)` to validate names.
 */
export function applyKintoJsonPatch(
  object: JsonObject,
  permissions: Record<string, string[]>,
  ops: unknown,
): { data: JsonObject; permissions: Record<string, string[]> } {
  const operations = parseJsonPatchOperations(ops).map((operation) => {
    if (!IMPLICIT_VALUE_PREFIXES.some((prefix) => operation.path.startsWith(prefix))) return operation;
    const tokens = operation.path.split('/');
    const principal = tokens[tokens.length - 1].replace(/~1/g, '/').replace(/~0/g, '~');
    return { ...operation, value: principal };
  });
  const resource: JsonObject = { data: cloneJson(object), permissions: permissionsDocument(permissions) };
  applyOperations(resource, operations);
  const data = resource.data;
  const patchedPermissions = resource.permissions;
  if (!isJsonObject(data)) throw patchFailed("'data' must be an object");
  if (!isJsonObject(patchedPermissions)) throw patchFailed("'permissions' must be an object");
  const result: Record<string, string[]> = {};
  for (const [name, ace] of Object.entries(patchedPermissions)) result[name] = principalsOf(name, ace);
  return { data, permissions: result };
}

// ---------------------------------------------------------------------------------------------
// ACE update semantics (Kinto's PermissionsSchema + Resource.process_object)

function principalErrors(name: string, principals: unknown): ValidationDetail[] {
  const location = 'body';
  if (!Array.isArray(principals)) {
    return [{ location, name: `permissions.${name}`, description: `"${pythonStr(principals)}" is not iterable` }];
  }
  return principals.flatMap((principal: unknown, index) => {
    if (typeof principal === 'string' && principal !== '') return [];
    const description = isFalsy(principal) ? 'Required' : `${pythonStr(principal)} is not a string: {'': ''}`;
    return [{ location, name: `permissions.${name}.${index}`, description }];
  });
}

/** Validates a `permissions` payload; `null` values (merge-patch removals) are kept as null. */
function validatePermissionChanges(changes: unknown, allowed: readonly string[]): Map<string, string[] | null> {
  if (!isJsonObject(changes)) {
    const description = `"${pythonStr(changes)}" is not a mapping type: Does not implement dict-like functionality.`;
    throw invalidParameters('body', 'permissions', description);
  }
  const entries = Object.entries(changes);
  for (const [name, principals] of entries) {
    if (principals !== null && !allowed.includes(name)) {
      throw invalidParameters('body', 'permissions', `"${name}" is not one of ${allowed.join(', ')}`);
    }
  }
  const details = entries.flatMap(([name, principals]) => (principals === null ? [] : principalErrors(name, principals)));
  if (details.length > 0) throw validationError(details);
  return new Map(entries.map(([name, principals]) => [name, principals === null ? null : [...new Set(principals as string[])]]));
}

/**
 * New ACEs of an object after a write. `changes` is the body's `permissions` (undefined when
 * absent). The result lists every ACE to store: an empty list means "no principal".
 * - `replace` (PUT): with at least one non-null ACE, every allowed permission not given becomes [].
 * - `merge` (plain PATCH): given ACEs replaced, others kept, `null` ignored.
 * - `merge-patch`: given ACEs replaced, `null` removes one, others kept, missing ones become [].
 * Kinto computes this from the permissions the user can see (`{}` unless they are in `write`):
 * pass those as `existing` to reproduce it exactly.
 */
export function mergePermissions(
  existing: Record<string, string[]>,
  changes: unknown,
  mode: PermissionsMode,
  allowed: readonly string[],
): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [name, principals] of Object.entries(existing)) result[name] = [...principals];
  if (changes === undefined) return result;
  const validated = validatePermissionChanges(changes, allowed);
  const given = [...validated].filter(([, principals]) => principals !== null) as Array<[string, string[]]>;
  if (mode === 'replace') {
    if (given.length === 0) return result;
    return Object.fromEntries(allowed.map((name) => [name, validated.get(name) ?? []]));
  }
  for (const [name, principals] of validated) {
    if (principals !== null) result[name] = principals;
    else if (mode === 'merge-patch') delete result[name];
  }
  if (mode === 'merge-patch' && validated.size > 0) {
    for (const name of allowed) result[name] ??= [];
  }
  return result;
}
