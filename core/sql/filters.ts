import type { FieldPath, FilterNode, JsonValue, SortField } from '../filters/ast.ts';
import { likeParts } from '../filters/ast.ts';

/** Collects positional parameters while a statement is built: values never enter the SQL text. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  json(value: JsonValue): string {
    return `${this.add(JSON.stringify(value))}::jsonb`;
  }
}

type Column = { kind: 'id' } | { kind: 'last_modified' } | { kind: 'data'; sql: string };

/** Tombstones carry `deleted: true`; live objects never have the field (it is not stored). */
const DELETED_FIELD = `(CASE WHEN deleted THEN 'true'::jsonb END)`;

/** `id` and `last_modified` are stored in columns of their own (with their indexes). */
export function isColumnField(field: FieldPath): boolean {
  return field.length === 1 && (field[0] === 'id' || field[0] === 'last_modified');
}

/** `id`, `last_modified` and `deleted` are columns; any other field is a path into `data`, passed as a parameter. */
function column(field: FieldPath, params: Params): Column {
  if (isColumnField(field)) return { kind: field[0] as 'id' | 'last_modified' };
  if (field[0] === 'deleted') return { kind: 'data', sql: field.length === 1 ? DELETED_FIELD : 'NULL::jsonb' };
  return { kind: 'data', sql: `(data #> ${params.add([...field])}::text[])` };
}

/**
 * The field as jsonb, so every comparison follows jsonb's ordering, as the memory backend
 * does. Not for strings compared with `id`: the column itself is used there (indexed).
 */
function asJsonb(col: Column): string {
  if (col.kind === 'id') return 'to_jsonb(id)';
  if (col.kind === 'last_modified') return 'to_jsonb(last_modified)';
  return col.sql;
}

const OPERATORS = { lt: '<', gt: '>', min: '>=', max: '<=' } as const;

function compareSql(node: Extract<FilterNode, { kind: 'compare' }>, params: Params): string {
  // The kind only: a path bound here but left unused would be a parameter of unknown type.
  const kind = column(node.field, new Params()).kind;
  if (node.op === 'eq' && kind === 'data' && isScalar(node.value) && node.field[0] !== 'deleted') {
    // Containment can use the GIN index; for a scalar below an object it is exact equality
    // (arrays only contain primitives at the top level). A redundant `#> = ` check made the
    // planner multiply both selectivities, expect a handful of rows and skip index-ordered scans.
    return `data @> ${params.json(nest(node.field, node.value))}`;
  }
  const col = column(node.field, params);
  if (col.kind === 'last_modified' && typeof node.value === 'number') {
    const value = params.add(node.value);
    if (node.op === 'eq') return `last_modified = ${value}`;
    if (node.op === 'not') return `last_modified <> ${value}`;
    return `last_modified ${OPERATORS[node.op]} ${value}`;
  }
  if (col.kind === 'id' && typeof node.value === 'string') {
    // The "C"-collated column orders like jsonb strings in memory (code points) and is indexed.
    if (node.op === 'eq') return `id = ${params.add(node.value)}`;
    if (node.op === 'not') return `id <> ${params.add(node.value)}`;
    return `id ${OPERATORS[node.op]} ${params.add(node.value)}`;
  }
  const field = asJsonb(col);
  if (node.op === 'eq') return `${field} = ${params.json(node.value)}`;
  if (node.op === 'not') return `(${field} IS NULL OR ${field} <> ${params.json(node.value)})`;
  return `${field} ${OPERATORS[node.op]} ${params.json(node.value)}`;
}

function isScalar(value: JsonValue): boolean {
  return value === null || typeof value !== 'object';
}

function nest(path: FieldPath, value: JsonValue): JsonValue {
  return path.reduceRight<JsonValue>((inner, key) => ({ [key]: inner }), value);
}

function inSql(node: Extract<FilterNode, { kind: 'in' }>, params: Params): string {
  const col = column(node.field, params);
  if (col.kind === 'id' && node.values.every((v) => typeof v === 'string')) {
    const list = params.add(node.values);
    return node.negate ? `NOT (id = ANY(${list}::text[]))` : `id = ANY(${list}::text[])`;
  }
  const field = asJsonb(col);
  const list = `(SELECT jsonb_array_elements(${params.json([...node.values])}))`;
  return node.negate ? `(${field} IS NULL OR ${field} NOT IN ${list})` : `${field} IN ${list}`;
}

function likeSql(node: Extract<FilterNode, { kind: 'like' }>, params: Params): string {
  const escaped = likeParts(node.pattern).map((part) => part.replace(/[\\%_]/g, '\\$&')).join('%');
  const col = column(node.field, params);
  const pattern = params.add(escaped);
  if (col.kind === 'id') return `id ILIKE ${pattern}`;
  const field = asJsonb(col);
  return `(jsonb_typeof(${field}) = 'string' AND (${field} #>> '{}') ILIKE ${pattern})`;
}

function containsSql(node: Extract<FilterNode, { kind: 'contains' }>, params: Params): string {
  const field = asJsonb(column(node.field, params));
  const isArray = `jsonb_typeof(${field}) = 'array'`;
  if (!node.any) {
    const all = node.values.map((v) => `${field} @> ${params.json([v])}`).join(' AND ') || 'TRUE';
    return `(${isArray} AND ${all})`;
  }
  const any = node.values.map((v) => `${field} @> ${params.json([v])}`).join(' OR ') || 'FALSE';
  return `(${isArray} AND (${any}))`;
}

/** Keyset pagination: rows strictly after `values` in the sort order (missing sorts last). */
function afterSql(node: Extract<FilterNode, { kind: 'after' }>, params: Params): string {
  const rules: string[] = [];
  node.sort.forEach((sort, index) => {
    const equal = node.sort.slice(0, index).map((prefix, i) => equalitySql(prefix.field, node.values[i], params));
    const beyond = beyondSql(sort, node.values[index], params);
    rules.push([...equal, beyond].join(' AND '));
  });
  return rules.length ? `(${rules.map((r) => `(${r})`).join(' OR ')})` : 'FALSE';
}

/** The field and a bound value in comparable SQL: raw column for timestamps (index-friendly), else jsonb. */
function operands(field: FieldPath, value: JsonValue, params: Params): [string, string] {
  const col = column(field, params);
  if (col.kind === 'last_modified' && typeof value === 'number') return ['last_modified', params.add(value)];
  if (col.kind === 'id' && typeof value === 'string') return ['id', params.add(value)];
  return [asJsonb(col), params.json(value)];
}

function equalitySql(field: FieldPath, value: JsonValue | undefined, params: Params): string {
  if (value === undefined) return `${asJsonb(column(field, params))} IS NULL`;
  const [lhs, rhs] = operands(field, value, params);
  return `${lhs} = ${rhs}`;
}

function beyondSql(sort: SortField, value: JsonValue | undefined, params: Params): string {
  if (value === undefined) {
    return sort.direction === 1 ? 'FALSE' : `${asJsonb(column(sort.field, params))} IS NOT NULL`;
  }
  const [lhs, rhs] = operands(sort.field, value, params);
  return sort.direction === 1 ? `(${lhs} > ${rhs} OR ${lhs} IS NULL)` : `${lhs} < ${rhs}`;
}

export function filterSql(node: FilterNode, params: Params): string {
  switch (node.kind) {
    case 'compare':
      return compareSql(node, params);
    case 'in':
      return inSql(node, params);
    case 'like':
      return likeSql(node, params);
    case 'has': {
      const field = asJsonb(column(node.field, params));
      return node.present ? `${field} IS NOT NULL` : `${field} IS NULL`;
    }
    case 'contains':
      return containsSql(node, params);
    case 'after':
      return afterSql(node, params);
  }
}

export function whereSql(filters: readonly FilterNode[], params: Params): string {
  return filters.map((f) => `(${filterSql(f, params)})`).join(' AND ') || 'TRUE';
}

/** ORDER BY matching compareJson: jsonb order, missing (NULL) after everything. */
export function orderSql(sort: readonly SortField[], params: Params): string {
  const terms = sort.map((s) => {
    const col = column(s.field, params);
    // Raw columns, indexed: ids are "C"-collated text, which orders as jsonb strings do in memory.
    const expr = col.kind === 'data' ? col.sql : col.kind;
    return s.direction === 1 ? `${expr} ASC NULLS LAST` : `${expr} DESC NULLS FIRST`;
  });
  return terms.join(', ') || 'last_modified DESC';
}
