/**
 * Python's `str.format(**context)` for kinto-emailer templates: `{name}`, `{name[key]}`,
 * `{name!r}`, `{name:>10}`, `{{`/`}}`. Values print as Python's `str()` would (`None`,
 * `True`, `{'a': 1}`).
 *
 * Where Python raises (a missing key, an attribute access, a positional field), the field
 * is left as written: kinto-emailer already renders absent `record_id`/`collection_id` as
 * `{record_id}`, and a template mistake must never fail the write that triggered the mail.
 * A malformed template (a lone `}`, an unclosed `{`) throws `TemplateError`.
 */

export class TemplateError extends Error {}

type Context = Readonly<Record<string, unknown>>;

/** Marks a field Python could not resolve. */
const MISSING = Symbol('missing');

/**
 * `missing: 'empty'` renders unknown names as '' (kinto-slack's `format_map(defaultdict(str, …))`);
 * the default keeps them as written (kinto-emailer).
 */
export function formatTemplate(template: string, context: Context, missing: 'keep' | 'empty' = 'keep'): string {
  let output = '';
  let index = 0;
  while (index < template.length) {
    const char = template[index];
    if (char === '}') {
      if (template[index + 1] !== '}') throw new TemplateError("Single '}' encountered in format string");
      output += '}';
      index += 2;
    } else if (char === '{') {
      if (template[index + 1] === '{') {
        output += '{';
        index += 2;
        continue;
      }
      const end = fieldEnd(template, index + 1);
      output += replaceField(template.slice(index + 1, end), context, missing);
      index = end + 1;
    } else {
      output += char;
      index += 1;
    }
  }
  return output;
}

/** Index of the `}` closing the field that starts at `start` (nested `{}` allowed in the spec). */
function fieldEnd(template: string, start: number): number {
  let depth = 1;
  for (let index = start; index < template.length; index += 1) {
    const char = template[index];
    if (char === '[') {
      const close = template.indexOf(']', index);
      if (close !== -1) index = close;
    } else if (char === '{') depth += 1;
    else if (char === '}' && --depth === 0) return index;
  }
  throw new TemplateError("Single '{' encountered in format string");
}

function replaceField(field: string, context: Context, missing: 'keep' | 'empty'): string {
  const { name, conversion, spec: rawSpec } = splitField(field);
  const spec = rawSpec.includes('{') ? formatTemplate(rawSpec, context, missing) : rawSpec;
  const value = resolve(name, context);
  if (value === MISSING) return missing === 'empty' ? '' : `{${field}}`;
  if (conversion === 'r' || conversion === 'a') return applySpec(pyRepr(value), spec);
  if (conversion !== null && conversion !== 's') throw new TemplateError(`Unknown conversion specifier ${conversion}`);
  return applySpec(conversion === 's' ? pyStr(value) : value, spec);
}

/** `name[key].attr!r:spec` → its three parts; brackets may hold `!` and `:`. */
function splitField(field: string): { name: string; conversion: string | null; spec: string } {
  let index = 0;
  while (index < field.length && field[index] !== '!' && field[index] !== ':') {
    if (field[index] === '[') {
      const close = field.indexOf(']', index);
      index = close === -1 ? field.length : close;
    }
    index += 1;
  }
  const name = field.slice(0, index);
  let rest = field.slice(index);
  let conversion: string | null = null;
  if (rest.startsWith('!')) {
    conversion = rest.slice(1, 2);
    rest = rest.slice(2);
    if (rest !== '' && !rest.startsWith(':')) throw new TemplateError("Expected ':' after conversion specifier");
  }
  return { name, conversion, spec: rest.startsWith(':') ? rest.slice(1) : '' };
}

/** The value of `name[key][0]`; attributes (`.x`) and positional fields are missing. */
function resolve(name: string, context: Context): unknown {
  const match = /^([^.[]*)(.*)$/s.exec(name)!;
  const [, head, accessors] = match;
  if (head === '' || /^\d+$/.test(head) || !Object.hasOwn(context, head)) return MISSING;
  let value: unknown = context[head];
  const pattern = /\[([^\]]*)\]|\.[^.[]*/g;
  let consumed = 0;
  for (const part of accessors.matchAll(pattern)) {
    if (part.index !== consumed || part[1] === undefined) return MISSING;
    consumed += part[0].length;
    value = index(value, part[1]);
    if (value === MISSING) return MISSING;
  }
  return consumed === accessors.length ? value : MISSING;
}

function index(value: unknown, key: string): unknown {
  const position = /^\d+$/.test(key) ? Number(key) : null;
  if (typeof value === 'string' || Array.isArray(value)) {
    return position !== null && position < value.length ? value[position] : MISSING;
  }
  if (value !== null && typeof value === 'object' && position === null && Object.hasOwn(value, key)) {
    return (value as Record<string, unknown>)[key];
  }
  return MISSING;
}

/** Python's `str()` of a JSON value. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** Python's `repr()` of a JSON value. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\t', '\\t');
    return quote + (quote === "'" ? escaped.replaceAll("'", "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([key, item]) => `${pyRepr(key)}: ${pyRepr(item)}`).join(', ')}}`;
  }
  return String(value);
}

const SPEC = /^(?:(.)?([<>^=]))?([+\- ]?)(0?)(\d*)(,?)(?:\.(\d+))?([sdfeg%]?)$/s;

/** The common part of Python's format mini-language: fill, align, width, precision, `s d f e g %`. */
function applySpec(value: unknown, spec: string): string {
  if (spec === '') return pyStr(value);
  const match = SPEC.exec(spec);
  if (!match) throw new TemplateError(`Invalid format specifier '${spec}'`);
  const [, fill = ' ', align, sign, zero, width, comma, precision, type] = match;
  const numeric = typeof value === 'number';
  let text: string;
  if (numeric) text = formatNumber(value, { sign, comma: comma === ',', precision, type });
  else if (type === '' || type === 's') text = precision === undefined ? pyStr(value) : pyStr(value).slice(0, Number(precision));
  else throw new TemplateError(`Unknown format code '${type}' for object of type 'str'`);
  const padding = zero && !align ? '0' : fill;
  return pad(text, Number(width || 0), align ?? (numeric ? '>' : '<'), padding);
}

interface NumberSpec {
  sign: string;
  comma: boolean;
  precision: string | undefined;
  type: string;
}

function formatNumber(value: number, spec: NumberSpec): string {
  const digits = spec.precision === undefined ? 6 : Number(spec.precision);
  let text: string;
  if (spec.type === 'f') text = Math.abs(value).toFixed(digits);
  else if (spec.type === 'e') text = Math.abs(value).toExponential(digits).replace(/e([+-])(\d)$/, 'e$10$2');
  else if (spec.type === '%') text = `${(Math.abs(value) * 100).toFixed(digits)}%`;
  else if (spec.type === 'd' && !Number.isInteger(value)) throw new TemplateError("Unknown format code 'd' for object of type 'float'");
  else if (spec.type === 's') throw new TemplateError("Unknown format code 's' for object of type 'int'");
  else text = String(Math.abs(value));
  if (spec.comma) text = text.replace(/^\d+/, (whole) => whole.replace(/\B(?=(\d{3})+(?!\d))/g, ','));
  const signText = value < 0 || Object.is(value, -0) ? '-' : spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
  return signText + text;
}

function pad(text: string, width: number, align: string, fill: string): string {
  const missing = width - [...text].length;
  if (missing <= 0) return text;
  if (align === '<') return text + fill.repeat(missing);
  if (align === '^') return fill.repeat(Math.floor(missing / 2)) + text + fill.repeat(Math.ceil(missing / 2));
  if (align === '=' && /^[+\- ]/.test(text)) return text[0] + fill.repeat(missing) + text.slice(1);
  return fill.repeat(missing) + text;
}
