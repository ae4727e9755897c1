/**
 * The `pg.Query` the driver submits for each statement, built to spare two costs `pg` pays on
 * every query (bench/README.md #30): copying a config object property by property (a query
 * built from its text is not copied), and building the row template of the result as a
 * null-prototype object then spreading it (~2 µs for the ten columns of a read-ahead union).
 */
import pg from 'pg';

interface FieldDescription {
  name: string;
  dataTypeID: number;
  format?: string;
}

type TypeParser = (value: string) => unknown;

/** What `pg`'s Result keeps about the columns (pg/lib/result.js, pinned version). */
interface ResultColumns {
  fields: FieldDescription[];
  _parsers: TypeParser[] | undefined;
  _types: { getTypeParser(oid: number, format: string): TypeParser } | undefined;
  _prebuiltEmptyResultObject: Record<string, null> | null;
}

const DEFAULT_TYPES = pg.types as unknown as NonNullable<ResultColumns['_types']>;

type ResultClass = new (rowMode: string | undefined, types: unknown) => { addFields(fields: FieldDescription[]): void };
const PgResult = (pg as unknown as { Result: ResultClass }).Result;

/** pg's Result, its row template built as a plain object (the same keys, in the same order). */
class TemplatedResult extends PgResult {
  override addFields(fields: FieldDescription[]): void {
    // A `__proto__` column would set the template's prototype: pg's own way then.
    if (fields.some((field) => field.name === '__proto__')) return super.addFields(fields);
    const columns = this as unknown as ResultColumns;
    columns.fields = fields;
    const parsers: TypeParser[] = new Array(fields.length);
    const template: Record<string, null> = {};
    for (let i = 0; i < fields.length; i++) {
      const { name, dataTypeID, format } = fields[i];
      template[name] = null;
      parsers[i] = (columns._types ?? DEFAULT_TYPES).getTypeParser(dataTypeID, format || 'text');
    }
    if (fields.length) columns._parsers = parsers;
    columns._prebuiltEmptyResultObject = template;
  }
}

type Callback = (error: Error | undefined, result: pg.QueryResult) => void;

/** A statement to submit to a pool or a client; named, it is prepared once per connection. */
export function pgStatement(text: string, params: readonly unknown[], name: string | undefined, callback?: Callback): pg.Query {
  const query = new pg.Query(text, params as unknown[], callback as never);
  const internals = query as unknown as { name?: string; _result: unknown; _results: unknown };
  if (name !== undefined) internals.name = name;
  internals._result = internals._results = new TemplatedResult(undefined, undefined);
  return query;
}
