/**
 * Reader for the INI files Kinto operators write for the Python server: the
 * dialect of Python's `configparser.ConfigParser` as PasteDeploy configures it
 * (case-preserved keys, strict duplicates, `=`/`:` delimiters, whole-line
 * comments only, indented continuation lines, `%(name)s` interpolation).
 */

export interface SettingsErrorLocation {
  file?: string | null;
  line?: number | null;
}

/** Any configuration problem that should stop the server from starting. */
export class SettingsError extends Error {
  readonly file: string | null;
  readonly line: number | null;

  constructor(message: string, location: SettingsErrorLocation = {}) {
    const file = location.file ?? null;
    const line = location.line ?? null;
    super(file === null && line === null ? message : `${describeLocation(file, line)}: ${message}`);
    this.name = 'SettingsError';
    this.file = file;
    this.line = line;
  }
}

function describeLocation(file: string | null, line: number | null): string {
  const where = file ?? '<ini text>';
  return line === null ? where : `${where}, line ${line}`;
}

export interface IniOptions {
  /** Directory of the INI file, exposed as `%(here)s`. */
  here?: string;
  /** Path of the INI file: used in error messages and exposed as `%(__file__)s`. */
  fileName?: string;
  /** Extra variables for interpolation (e.g. `http_port`); `[DEFAULT]` entries win over them. */
  vars?: Record<string, string>;
  /**
   * Which sections get `%(name)s` interpolation. By default only PasteDeploy
   * sections (`app:`, `server:`, ...) and `[DEFAULT]`, like the Python server:
   * logging sections (`format = %(asctime)s`) and foreign sections (`[uwsgi]`)
   * are read raw there too.
   */
  interpolate?: (section: string) => boolean;
}

export type IniSections = Map<string, Map<string, string>>;

const DEFAULT_SECTION = 'DEFAULT';
const PASTE_SECTION_PREFIXES = ['app:', 'application:', 'server:', 'filter:', 'filter-app:', 'pipeline:', 'composite:', 'composit:'];
const MAX_INTERPOLATION_DEPTH = 10;
const MAX_INTERPOLATED_LENGTH = 1_000_000;
const REFERENCE = /^%\(([^)]+)\)s/;

export function isPasteDeploySection(name: string): boolean {
  return name === DEFAULT_SECTION || PASTE_SECTION_PREFIXES.some((prefix) => name.startsWith(prefix));
}

interface RawOption {
  lines: string[];
  line: number;
}

interface RawSection {
  name: string;
  options: Map<string, RawOption>;
}

interface ReaderState {
  file: string | null;
  sections: Map<string, RawSection>;
  current: RawSection | null;
  option: RawOption | null;
  indent: number;
}

/**
 * Parse INI text into sections of string values, in file order. `[DEFAULT]`
 * is returned as its own section when present (its keys are not copied into
 * the other sections: PasteDeploy treats them as globals, not app settings).
 */
export function parseIni(text: string, options: IniOptions = {}): IniSections {
  const file = options.fileName ?? null;
  const raw = readSections(text, file);
  const defaults = raw.get(DEFAULT_SECTION)?.options ?? new Map<string, RawOption>();
  const builtins = builtinVariables(options);
  const shouldInterpolate = options.interpolate ?? isPasteDeploySection;
  const result: IniSections = new Map();
  for (const section of raw.values()) {
    const values = new Map<string, string>();
    for (const [key, option] of section.options) {
      const value = joinLines(option.lines);
      if (!shouldInterpolate(section.name)) {
        values.set(key, value);
        continue;
      }
      const lookup = (name: string): string | undefined =>
        rawValue(section.options.get(name)) ?? rawValue(defaults.get(name)) ?? builtins.get(name);
      const context: InterpolationContext = { file, line: option.line, section: section.name, key, lookup };
      values.set(key, interpolate(value, context, 1));
    }
    result.set(section.name, values);
  }
  return result;
}

function builtinVariables(options: IniOptions): Map<string, string> {
  const builtins = new Map<string, string>(Object.entries(options.vars ?? {}));
  if (options.fileName !== undefined) builtins.set('__file__', options.fileName);
  if (options.here !== undefined) builtins.set('here', options.here);
  return builtins;
}

function rawValue(option: RawOption | undefined): string | undefined {
  return option === undefined ? undefined : joinLines(option.lines);
}

function joinLines(lines: string[]): string {
  return lines.join('\n').trimEnd();
}

function readSections(text: string, file: string | null): Map<string, RawSection> {
  const state: ReaderState = { file, sections: new Map(), current: null, option: null, indent: 0 };
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    readLine(state, lines[index], index + 1);
  }
  return state.sections;
}

function readLine(state: ReaderState, line: string, lineNumber: number): void {
  const content = line.trim();
  if (content === '' || content.startsWith('#') || content.startsWith(';')) {
    // A blank line may sit inside a multi-line value (kept, trailing ones trimmed
    // at the end); comment lines are skipped without ending the value.
    if (content === '' && state.option !== null) state.option.lines.push('');
    return;
  }
  const indent = line.search(/\S/);
  if (state.option !== null && indent > state.indent) {
    state.option.lines.push(content);
    return;
  }
  state.indent = indent;
  const header = sectionHeader(content);
  if (header !== null) {
    openSection(state, header, lineNumber);
  } else if (state.current === null) {
    throw new SettingsError(`File contains no section header before ${quote(content)}`, {
      file: state.file,
      line: lineNumber,
    });
  } else {
    readOption(state, state.current, content, lineNumber);
  }
}

function sectionHeader(content: string): string | null {
  if (!content.startsWith('[')) return null;
  const end = content.lastIndexOf(']');
  return end > 1 ? content.slice(1, end) : null;
}

function openSection(state: ReaderState, name: string, lineNumber: number): void {
  const existing = state.sections.get(name);
  if (existing !== undefined && name !== DEFAULT_SECTION) {
    throw new SettingsError(`Section ${quote(name)} already exists`, { file: state.file, line: lineNumber });
  }
  const section = existing ?? { name, options: new Map() };
  state.sections.set(name, section);
  state.current = section;
  state.option = null;
}

function readOption(state: ReaderState, section: RawSection, content: string, lineNumber: number): void {
  const location = { file: state.file, line: lineNumber };
  const delimiter = content.search(/[=:]/);
  if (delimiter < 0) {
    throw new SettingsError(`Invalid line ${quote(content)} (expected 'key = value')`, location);
  }
  const key = content.slice(0, delimiter).trimEnd();
  if (key === '') {
    throw new SettingsError(`Missing option name in ${quote(content)}`, location);
  }
  if (section.options.has(key)) {
    throw new SettingsError(`Option ${quote(key)} in section ${quote(section.name)} already exists`, location);
  }
  const option: RawOption = { lines: [content.slice(delimiter + 1).trim()], line: lineNumber };
  section.options.set(key, option);
  state.option = option;
}

interface InterpolationContext {
  file: string | null;
  line: number;
  section: string;
  key: string;
  lookup: (name: string) => string | undefined;
}

/** configparser's BasicInterpolation: `%%` is `%`, `%(name)s` is replaced recursively. */
function interpolate(value: string, context: InterpolationContext, depth: number): string {
  if (depth > MAX_INTERPOLATION_DEPTH) {
    fail(context, 'Recursion limit exceeded in value substitution (circular %(...)s references?)');
  }
  let result = '';
  let rest = value;
  while (rest !== '') {
    const percent = rest.indexOf('%');
    if (percent < 0) return append(result, rest, context);
    result = append(result, rest.slice(0, percent), context);
    rest = rest.slice(percent);
    if (rest.startsWith('%%')) {
      result = append(result, '%', context);
      rest = rest.slice(2);
      continue;
    }
    if (!rest.startsWith('%(')) {
      fail(context, `'%' must be followed by '%' or '(', found: ${quote(rest)}`);
    }
    const match = REFERENCE.exec(rest);
    if (match === null) fail(context, `Bad interpolation variable reference ${quote(rest)}`);
    const replacement = context.lookup(match[1]);
    if (replacement === undefined) fail(context, `Bad value substitution: ${quote(match[0])} is not defined`);
    const expanded = replacement.includes('%') ? interpolate(replacement, context, depth + 1) : replacement;
    result = append(result, expanded, context);
    rest = rest.slice(match[0].length);
  }
  return result;
}

function append(accumulated: string, piece: string, context: InterpolationContext): string {
  // Nested references can grow exponentially; refuse instead of exhausting memory.
  if (accumulated.length + piece.length > MAX_INTERPOLATED_LENGTH) {
    fail(context, `Interpolated value is larger than ${MAX_INTERPOLATED_LENGTH} characters`);
  }
  return accumulated + piece;
}

function fail(context: InterpolationContext, problem: string): never {
  throw new SettingsError(`${problem} (option ${quote(context.key)} in section ${quote(context.section)})`, {
    file: context.file,
    line: context.line,
  });
}

function quote(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `'${shown}'`;
}
