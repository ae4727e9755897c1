/**
 * JSON schema checks of Kinto (collection `schema`, bucket `record:schema`...), on ajv.
 * Kinto uses python-jsonschema: schemas are checked against the draft-07 meta-schema when
 * saved, objects are validated with the draft named by `$schema`, and the first error is
 * reported with python's wording. Compiled validators are cached, since every record write
 * of a collection runs the same schema.
 */
import { Ajv, MissingRefError } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import draft7MetaSchema from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import type { JsonObject, JsonValue } from '../filters/ast.ts';
import { KintoError, invalidParameters } from '../errors.ts';

// ---------------------------------------------------------------------------------------------
// Python's repr(), which Kinto's messages embed (depth-capped: messages never overflow the stack)

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const REPR_MAX_DEPTH = 64;

function escapeChar(char: string, quote: string): string {
  if (char === quote || char === '\\') return `\\${char}`;
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  if (char === ' ' || !NOT_PRINTABLE.test(char)) return char;
  const code = char.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

function stringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const char of text) body += escapeChar(char, quote);
  return `${quote}${body}${quote}`;
}

function numberRepr(value: number): string {
  // Integers below 1e21 are printed as python ints; larger ones were most likely floats.
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  const [mantissa, exponent] = value.toExponential().split('e');
  const power = Number(exponent);
  if (power >= -4 && power < 16) return String(value);
  return `${mantissa}e${power < 0 ? '-' : '+'}${String(Math.abs(power)).padStart(2, '0')}`;
}

/** `repr(value)` as Python prints the JSON-decoded value. */
export function pythonRepr(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return numberRepr(value);
  if (typeof value === 'string') return stringRepr(value);
  if (typeof value !== 'object') return String(value);
  if (depth >= REPR_MAX_DEPTH) return Array.isArray(value) ? '[...]' : '{...}';
  if (Array.isArray(value)) return `[${value.map((item) => pythonRepr(item, depth + 1)).join(', ')}]`;
  const items = Object.entries(value).map(([key, item]) => `${stringRepr(key)}: ${pythonRepr(item, depth + 1)}`);
  return `{${items.join(', ')}}`;
}

/** `str(value)`: like repr, but strings are not quoted. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

// ---------------------------------------------------------------------------------------------
// ajv instances

type Draft = 'draft7' | 'draft2019' | 'draft2020';
type AnyAjv = Ajv | Ajv2019 | Ajv2020;

/** Marks a `$ref` that cannot be resolved: python only fails when it is evaluated. */
const UNRESOLVABLE_KEYWORD = 'x-kinto-unresolvable-ref';
/** Deeper schemas are refused (python-jsonschema would hit its recursion limit well before). */
export const MAX_SCHEMA_DEPTH = 128;
const MAX_CACHED_VALIDATORS = 256;
const MAX_REF_REPAIRS = 32;
const PLACEHOLDER_BASE_ID = 'https://kinto.invalid/schema.json';

const COMPILE_OPTIONS = {
  strict: false,
  allErrors: false,
  verbose: true,
  validateFormats: false, // python-jsonschema asserts no format unless given a format checker
  validateSchema: false, // the draft-07 meta-schema check happens in checkSchemaDefinition
  addUsedSchema: false, // two collections may declare the same `$id`
  unicodeRegExp: false, // closer to python's `re` escapes (`\-`, `\_`...)
  logger: false,
} as const;

const compilers = new Map<Draft, AnyAjv>();

function compilerFor(draft: Draft): AnyAjv {
  let ajv = compilers.get(draft);
  if (!ajv) {
    if (draft === 'draft2020') ajv = new Ajv2020(COMPILE_OPTIONS);
    else if (draft === 'draft2019') ajv = new Ajv2019(COMPILE_OPTIONS);
    else ajv = new Ajv(COMPILE_OPTIONS);
    ajv.addKeyword({ keyword: UNRESOLVABLE_KEYWORD, schemaType: 'string', validate: () => false });
    compilers.set(draft, ajv);
  }
  return ajv;
}

function draftOf(schema: JsonObject): Draft {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (declared.includes('2020-12')) return 'draft2020';
  if (declared.includes('2019-09')) return 'draft2019';
  return 'draft7';
}

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

let metaValidator: ValidateFunction | undefined;

/**
 * Draft-07 meta-schema with python's default format checks (only `regex` is effective there).
 * Compiled as a plain schema under another id: ajv never checks formats in its meta-schemas.
 */
function draft7MetaValidator(): ValidateFunction {
  if (!metaValidator) {
    const ajv = new Ajv({
      strict: false,
      verbose: true,
      logger: false,
      formats: { regex: isValidRegex, uri: true, 'uri-reference': true },
    });
    metaValidator = ajv.compile({ ...draft7MetaSchema, $id: 'kinto:draft-07-meta-schema' });
  }
  return metaValidator;
}

// ---------------------------------------------------------------------------------------------
// python-jsonschema error wording

type Describe = (error: ErrorObject, draft: Draft) => string;

function lengthMessage(singular: string, plural: string, limitHit: number): (error: ErrorObject) => string {
  return (error) => `${pythonRepr(error.data)} ${error.schema === limitHit ? singular : plural}`;
}

function extraProperties(error: ErrorObject): string[] {
  const data = error.data as JsonObject;
  const parent = (error.parentSchema ?? {}) as JsonObject;
  const declared = (parent.properties ?? {}) as JsonObject;
  const patterns = Object.keys((parent.patternProperties ?? {}) as JsonObject).filter(isValidRegex).map((p) => new RegExp(p));
  return Object.keys(data)
    .filter((key) => !Object.hasOwn(declared, key) && !patterns.some((regex) => regex.test(key)))
    .sort();
}

function extrasMessage(extras: unknown[]): string {
  return `${extras.map((extra) => pythonRepr(extra)).join(', ')} ${extras.length === 1 ? 'was' : 'were'}`;
}

function additionalProperties(error: ErrorObject): string {
  const extras = extraProperties(error);
  const patterns = (error.parentSchema as JsonObject | undefined)?.patternProperties;
  if (patterns && typeof patterns === 'object') {
    const verb = extras.length === 1 ? 'does' : 'do';
    const regexes = Object.keys(patterns).sort().map((p) => pythonRepr(p)).join(', ');
    return `${extras.map((extra) => pythonRepr(extra)).join(', ')} ${verb} not match any of the regexes: ${regexes}`;
  }
  return `Additional properties are not allowed (${extrasMessage(extras)} unexpected)`;
}

function oneOfMessage(error: ErrorObject): string {
  const passing = (error.params as { passingSchemas?: number[] | null }).passingSchemas;
  if (!passing || passing.length < 2) return `${pythonRepr(error.data)} is not valid under any of the given schemas`;
  const subschemas = error.schema as JsonValue[];
  const order = [...passing.slice(1), passing[0]];
  return `${pythonRepr(error.data)} is valid under each of ${order.map((i) => pythonRepr(subschemas[i])).join(', ')}`;
}

function comparison(words: string, bound: string): Describe {
  return (error) => `${pythonRepr(error.data)} is ${words} the ${bound} of ${pythonRepr(error.schema)}`;
}

const DESCRIBE: Record<string, Describe> = {
  type: (e) => {
    const types = Array.isArray(e.schema) ? e.schema : [e.schema];
    return `${pythonRepr(e.data)} is not of type ${types.map((t) => pythonRepr(t)).join(', ')}`;
  },
  required: (e) => `${pythonRepr((e.params as { missingProperty: string }).missingProperty)} is a required property`,
  enum: (e) => `${pythonRepr(e.data)} is not one of ${pythonRepr(e.schema)}`,
  const: (e) => `${pythonRepr(e.schema)} was expected`,
  minimum: comparison('less than', 'minimum'),
  maximum: comparison('greater than', 'maximum'),
  exclusiveMinimum: comparison('less than or equal to', 'minimum'),
  exclusiveMaximum: comparison('greater than or equal to', 'maximum'),
  multipleOf: (e) => `${pythonRepr(e.data)} is not a multiple of ${pythonRepr(e.schema)}`,
  minLength: lengthMessage('should be non-empty', 'is too short', 1),
  maxLength: lengthMessage('is expected to be empty', 'is too long', 0),
  minItems: lengthMessage('should be non-empty', 'is too short', 1),
  maxItems: lengthMessage('is expected to be empty', 'is too long', 0),
  minProperties: lengthMessage('should be non-empty', 'does not have enough properties', 1),
  maxProperties: lengthMessage('is expected to be empty', 'has too many properties', 0),
  uniqueItems: (e) => `${pythonRepr(e.data)} has non-unique elements`,
  pattern: (e) => `${pythonRepr(e.data)} does not match ${pythonRepr(e.schema)}`,
  format: (e) => `${pythonRepr(e.data)} is not a ${pythonRepr(e.schema)}`,
  additionalProperties,
  additionalItems: (e) => {
    const extras = (e.data as JsonValue[]).slice((e.params as { limit: number }).limit);
    return `Additional items are not allowed (${extrasMessage(extras)} unexpected)`;
  },
  contains: (e, draft) =>
    draft === 'draft7'
      ? `None of ${pythonRepr(e.data)} are valid under the given schema`
      : `${pythonRepr(e.data)} does not contain items matching the given schema`,
  dependencies: (e) => dependencyMessage(e),
  dependentRequired: (e) => dependencyMessage(e),
  not: (e) => `${pythonRepr(e.data)} should not be valid under ${pythonRepr(e.schema)}`,
  anyOf: (e) => `${pythonRepr(e.data)} is not valid under any of the given schemas`,
  oneOf: oneOfMessage,
  'false schema': (e) => `False schema does not allow ${pythonRepr(e.data)}`,
  unevaluatedProperties: (e) => {
    const extra = (e.params as { unevaluatedProperty: string }).unevaluatedProperty;
    return `Unevaluated properties are not allowed (${extrasMessage([extra])} unexpected)`;
  },
};

function dependencyMessage(error: ErrorObject): string {
  const { property, missingProperty } = error.params as { property: string; missingProperty: string };
  return `${pythonRepr(missingProperty)} is a dependency of ${pythonRepr(property)}`;
}

function describeError(error: ErrorObject, draft: Draft): string {
  if (!Object.hasOwn(DESCRIBE, error.keyword)) return `${pythonRepr(error.data)} ${error.message ?? 'is invalid'}`;
  return DESCRIBE[error.keyword](error, draft);
}

/** The error python reports: ajv lists sub-errors first, then the keyword that failed. */
function reportedError(errors: ErrorObject[]): ErrorObject {
  const last = errors[errors.length - 1];
  const wrapsInnerError = last.keyword === 'if' || last.keyword === 'propertyNames';
  return wrapsInnerError && errors.length > 1 ? errors[errors.length - 2] : last;
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '#') return [];
  return pointer.replace(/^#/, '').split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Kinto's field name: last path element, else last of the keyword value, else schema path. */
function errorField(error: ErrorObject): string {
  const path = pointerTokens(error.instancePath);
  if (path.length > 0) return path[path.length - 1];
  const value = error.schema;
  if (typeof value === 'string' && value !== '') return value[value.length - 1];
  if (Array.isArray(value) && value.length > 0) return pythonStr(value[value.length - 1]);
  const schemaPath = pointerTokens(error.schemaPath).filter((token) => token !== 'false schema');
  return schemaPath.length > 0 ? schemaPath[schemaPath.length - 1] : 'schema';
}

// ---------------------------------------------------------------------------------------------
// Schema definition check (JSONSchemaMapping in kinto/schema_validation.py)

function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * null when `schema` may be saved, else the description of Kinto's 400 (name `data.schema`,
 * or `data.record:schema`... in `body`), e.g. "type'Washmachine' is not valid under any of
 * the given schemas" (sic: Kinto glues the failing key to python's message).
 */
export function checkSchemaDefinition(schema: unknown): string | null {
  if (!isObject(schema)) {
    return `"${pythonStr(schema)}" is not a mapping type: Does not implement dict-like functionality.`;
  }
  if (exceedsDepth(schema, MAX_SCHEMA_DEPTH)) return `schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep`;
  const validateMeta = draft7MetaValidator();
  if (!validateMeta(schema)) {
    const error = reportedError(validateMeta.errors!);
    const path = pointerTokens(error.instancePath);
    return `${path.length > 0 ? path[path.length - 1] : ''}${describeError(error, 'draft7')}`;
  }
  try {
    compile(schema).release(); // e.g. a pattern python accepts but JavaScript does not
    return null;
  } catch (error) {
    if (!(error instanceof CompileFailure)) throw error;
    return error.unresolvable ? null : error.message; // unresolvable `$ref`s only fail when used
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation with cache

interface Compiled {
  readonly validate: ValidateFunction;
  readonly draft: Draft;
  /** Drops ajv's own reference to the compiled schema (its cache is keyed by schema object). */
  readonly release: () => void;
}

class CompileFailure extends Error {
  readonly unresolvable: boolean;
  constructor(message: string, unresolvable = false) {
    super(message);
    this.unresolvable = unresolvable;
  }
}

const compiledByJson = new Map<string, Compiled>();
const compiledByObject = new WeakMap<object, Map<string, Compiled>>();

function unresolvableMessage(ref: string, root: JsonObject): string {
  if (ref.startsWith('#/') || ref === '#') {
    return `PointerToNowhere: ${pythonRepr(ref.slice(1))} does not exist within ${pythonRepr(root)}`;
  }
  if (ref.startsWith('#')) return `NoSuchAnchor: ${pythonRepr(ref.slice(1))} does not exist within ${pythonRepr(root)}`;
  return `Unresolvable: ${ref}`;
}

function refMatches(ref: string, missingRef: string): boolean {
  const strip = (uri: string) => uri.replace(/#$/, '');
  const [wanted, found] = [strip(ref), strip(missingRef)];
  return wanted === found || (wanted !== '' && found.endsWith(wanted.startsWith('#') ? wanted : `/${wanted}`));
}

/** Swaps every `$ref` matching `missingRef` for a keyword failing with python's message. */
function neutralizeRef(schema: JsonObject, missingRef: string, original: JsonObject): boolean {
  let replaced = false;
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (isObject(node) && typeof node.$ref === 'string' && refMatches(node.$ref, missingRef)) {
      node[UNRESOLVABLE_KEYWORD] = unresolvableMessage(node.$ref, original);
      delete node.$ref;
      replaced = true;
    }
    for (const child of Object.values(node)) stack.push(child);
  }
  return replaced;
}

function schemaError(description: string): KintoError {
  return invalidParameters('body', 'schema', description);
}

/** Compiles a private copy of `schema` (whose unresolvable `$ref`s are made to fail on use). */
function compile(schema: JsonObject): Compiled {
  const draft = draftOf(schema);
  const ajv = compilerFor(draft);
  const copy = structuredClone(schema);
  // Without a base id (and with addUsedSchema off) ajv cannot resolve `"$ref": "#"`.
  if (typeof copy.$id !== 'string') copy.$id = PLACEHOLDER_BASE_ID;
  for (let attempt = 0; attempt <= MAX_REF_REPAIRS; attempt++) {
    try {
      const validate = ajv.compile(copy);
      return { validate, draft, release: () => ajv.removeSchema(copy) };
    } catch (error) {
      ajv.removeSchema(copy);
      if (error instanceof MissingRefError && neutralizeRef(copy, error.missingRef, schema)) continue;
      if (error instanceof MissingRefError) throw new CompileFailure(`Unresolvable: ${error.missingRef}`, true);
      if (error instanceof RangeError) throw new CompileFailure('schema is nested too deeply');
      throw new CompileFailure(error instanceof Error ? error.message : String(error));
    }
  }
  throw new CompileFailure('too many unresolvable references', true);
}

function compileOr400(schema: JsonObject): Compiled {
  try {
    return compile(schema);
  } catch (error) {
    if (error instanceof CompileFailure) throw schemaError(error.message);
    throw error;
  }
}

function cachedCompile(schema: JsonObject): Compiled {
  const key = JSON.stringify(schema);
  let compiled = compiledByJson.get(key);
  if (compiled) {
    compiledByJson.delete(key); // re-inserted below: most recently used last
  } else {
    compiled = compileOr400(schema);
  }
  compiledByJson.set(key, compiled);
  if (compiledByJson.size > MAX_CACHED_VALIDATORS) {
    const [oldestKey, oldest] = compiledByJson.entries().next().value!;
    compiledByJson.delete(oldestKey);
    oldest.release();
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Object validation (validate_schema in kinto/schema_validation.py)

export interface SchemaValidationOptions {
  /** Fields neither validated nor required, e.g. `last_modified`, `schema`, `__permissions__`. */
  ignoredFields: string[];
  /** Ignored as well unless the schema declares it in `properties` (default `id`). */
  idField?: string;
}

function ignoredFieldsFor(schema: JsonObject, options: SchemaValidationOptions): Set<string> {
  const ignored = new Set(options.ignoredFields);
  const idField = options.idField ?? 'id';
  const properties = schema.properties;
  if (!isObject(properties) || !Object.hasOwn(properties, idField)) ignored.add(idField);
  return ignored;
}

/** The schema Kinto really validates with: `required` entries of ignored fields dropped. */
function effectiveSchema(schema: JsonObject, ignored: Set<string>): JsonObject {
  const required = Array.isArray(schema.required) ? schema.required.filter((f) => !ignored.has(f as string)) : [];
  const { required: _dropped, ...rest } = schema;
  return required.length > 0 ? { ...rest, required } : rest;
}

function compiledFor(schema: JsonObject, ignored: Set<string>): Compiled {
  const optionsKey = JSON.stringify([...ignored]);
  let byOptions = compiledByObject.get(schema);
  const known = byOptions?.get(optionsKey);
  if (known) return known;
  if (exceedsDepth(schema, MAX_SCHEMA_DEPTH)) throw schemaError('schema is nested too deeply');
  const compiled = cachedCompile(effectiveSchema(schema, ignored));
  if (!byOptions) compiledByObject.set(schema, (byOptions = new Map()));
  byOptions.set(optionsKey, compiled);
  return compiled;
}

function runValidator(validate: ValidateFunction, data: JsonObject): ErrorObject[] {
  try {
    return validate(data) ? [] : [...validate.errors!];
  } catch (error) {
    if (error instanceof RangeError) throw invalidParameters('body', null, 'Object is nested too deeply to be validated');
    throw error;
  }
}

/**
 * Validates `obj` like Kinto's `validate_schema`: throws a 400 (errno 107) on the first error.
 * Validators are cached per schema object (and by schema JSON): do not mutate a schema in place.
 */
export function validateAgainstSchema(schema: JsonObject, obj: JsonObject, options: SchemaValidationOptions): void {
  if (!isObject(schema)) throw schemaError(`${pythonRepr(schema)} is not a JSON schema object`);
  const ignored = ignoredFieldsFor(schema, options);
  const { validate, draft } = compiledFor(schema, ignored);
  const data: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    if (!ignored.has(key)) Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const errors = runValidator(validate, data);
  if (errors.length === 0) return;
  // python raises unresolvable references as exceptions, even from inside anyOf/oneOf.
  const unresolvable = errors.find((error) => error.keyword === UNRESOLVABLE_KEYWORD);
  if (unresolvable) throw schemaError(unresolvable.schema as string);
  const error = reportedError(errors);
  throw invalidParameters('body', errorField(error), describeError(error, draft));
}
