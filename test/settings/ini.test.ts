import { describe, it, expect } from 'vitest';

import { parseIni, SettingsError } from '../../core/settings/ini.ts';
import { seededRandom } from '../filters/random.ts';

function section(text: string, name: string, options = {}): Record<string, string> {
  const parsed = parseIni(text, options).get(name);
  if (parsed === undefined) throw new Error(`section ${name} missing`);
  return Object.fromEntries(parsed);
}

function parseError(text: string, options = {}): SettingsError {
  try {
    parseIni(text, options);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('parseIni: sections and options', () => {
  it('reads both delimiters, trims around them and preserves key case', () => {
    const text = '[app:main]\nKinto.Foo = bar\nbaz:qux\nspaced   =   value with  spaces  \nempty =\n';
    expect(section(text, 'app:main')).toEqual({
      'Kinto.Foo': 'bar',
      baz: 'qux',
      spaced: 'value with  spaces',
      empty: '',
    });
  });

  it('splits on the first delimiter only', () => {
    const text = '[app:main]\nkinto.account_write_principals = account:admin\nurl: postgresql://u:p@host/db\n';
    expect(section(text, 'app:main')).toEqual({
      'kinto.account_write_principals': 'account:admin',
      url: 'postgresql://u:p@host/db',
    });
  });

  it('keeps sections in file order and returns [DEFAULT] on its own', () => {
    const parsed = parseIni('[b]\nx = 1\n[DEFAULT]\nd = 2\n[a]\ny = 3\n');
    expect([...parsed.keys()]).toEqual(['b', 'DEFAULT', 'a']);
    expect(Object.fromEntries(parsed.get('a')!)).toEqual({ y: '3' });
  });

  it('skips whole-line comments but keeps inline comment text in values', () => {
    const text = '# top\n; top too\n[s]\n  # indented comment\nkey = value # not a comment\nother = a ; b\n';
    expect(section(text, 's')).toEqual({ key: 'value # not a comment', other: 'a ; b' });
  });

  it('accepts CRLF and CR line endings', () => {
    expect(section('[s]\r\na = 1\r\nb = 2\rc = 3', 's')).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('ignores text after the closing bracket of a header', () => {
    expect(section('[app:main] # main app\na = 1\n', 'app:main')).toEqual({ a: '1' });
  });
});

describe('parseIni: multi-line values', () => {
  it('joins indented continuation lines with newlines', () => {
    const text = [
      '[app:main]',
      'kinto.includes = kinto.plugins.accounts',
      '                 kinto.plugins.default_bucket',
      '\tkinto.plugins.flush',
      'next = 1',
    ].join('\n');
    expect(section(text, 'app:main')).toEqual({
      'kinto.includes': 'kinto.plugins.accounts\nkinto.plugins.default_bucket\nkinto.plugins.flush',
      next: '1',
    });
  });

  it('starts a value on the following lines when the first is empty', () => {
    expect(section('[s]\nlist =\n    a\n    b\n', 's')).toEqual({ list: '\na\nb' });
  });

  it('skips commented-out items inside a value and trims trailing blank lines', () => {
    const text = '[s]\nincludes = a\n    b\n#   c\n\n\n# Backends\nstorage = memory\n';
    expect(section(text, 's')).toEqual({ includes: 'a\nb', storage: 'memory' });
  });

  it('ends the value at a blank line followed by an unindented key', () => {
    expect(section('[s]\na = 1\n    2\n\nb = 3\n', 's')).toEqual({ a: '1\n2', b: '3' });
  });

  it('continues the value after a blank line when the next line is indented, like configparser', () => {
    expect(section('[s]\na = 1\n\n    2\n', 's')).toEqual({ a: '1\n\n2' });
  });

  it('treats an indented header after an option as a continuation line', () => {
    const parsed = parseIni('[s]\na = 1\n  [t]\n');
    expect(Object.fromEntries(parsed.get('s')!)).toEqual({ a: '1\n[t]' });
    expect(parsed.has('t')).toBe(false);
  });
});

describe('parseIni: interpolation', () => {
  it('replaces %(here)s, same-section and [DEFAULT] references, and %%', () => {
    const text = [
      '[DEFAULT]',
      'root = %(here)s/data',
      '[app:main]',
      'name = kinto',
      'path = %(root)s/%(name)s.db',
      'ratio = 100%%',
    ].join('\n');
    expect(section(text, 'app:main', { here: '/srv/kinto' })).toEqual({
      name: 'kinto',
      path: '/srv/kinto/data/kinto.db',
      ratio: '100%',
    });
    expect(section(text, 'DEFAULT', { here: '/srv/kinto' })).toEqual({ root: '/srv/kinto/data' });
  });

  it('prefers the section over [DEFAULT] and [DEFAULT] over vars, and exposes __file__', () => {
    const text = '[DEFAULT]\nport = 1\nwho = default\n[server:main]\nwho = section\nv = %(who)s %(port)s %(http_port)s %(__file__)s\n';
    const options = { vars: { port: '2', http_port: '3' }, fileName: '/etc/kinto.ini' };
    expect(section(text, 'server:main', options).v).toBe('section 1 3 /etc/kinto.ini');
  });

  it('reads logging and foreign sections raw', () => {
    const text = [
      '[formatter_generic]',
      'format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s',
      'datefmt = %H:%M:%S',
      '[uwsgi]',
      'socket = %d/kinto.sock',
    ].join('\n');
    expect(section(text, 'formatter_generic')).toEqual({
      format: '%(asctime)s %(levelname)-5.5s [%(name)s] %(message)s',
      datefmt: '%H:%M:%S',
    });
    expect(section(text, 'uwsgi')).toEqual({ socket: '%d/kinto.sock' });
  });

  it('lets the caller choose which sections are interpolated', () => {
    const text = '[custom]\na = x\nb = %(a)s\n';
    expect(section(text, 'custom', { interpolate: () => true }).b).toBe('x');
    expect(section(text, 'custom').b).toBe('%(a)s');
  });

  it('reports unknown references with the file, line, option and section', () => {
    const error = parseError('[app:main]\n\nurl = %(missing)s/x\n', { fileName: '/etc/kinto.ini' });
    expect(error.file).toBe('/etc/kinto.ini');
    expect(error.line).toBe(3);
    expect(error.message).toContain('/etc/kinto.ini, line 3');
    expect(error.message).toContain("'%(missing)s' is not defined");
    expect(error.message).toContain("option 'url' in section 'app:main'");
  });

  it('rejects a lone % and a malformed reference', () => {
    expect(parseError('[app:main]\nurl = 50%off\n').message).toContain("'%' must be followed by '%' or '('");
    expect(parseError('[app:main]\nurl = %(unclosed\n').message).toContain('Bad interpolation variable reference');
  });

  it('stops circular references', () => {
    expect(parseError('[app:main]\na = %(b)s\nb = %(a)s\n').message).toContain('Recursion limit exceeded');
  });

  it('refuses exponentially growing values', () => {
    const levels = ['[app:main]', 'l0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx%%'];
    for (let level = 1; level <= 9; level++) levels.push(`l${level} = ${`%(l${level - 1})s`.repeat(8)}`);
    expect(parseError(levels.join('\n')).message).toContain('larger than');
  });
});

describe('parseIni: errors', () => {
  it('requires a section header before options', () => {
    const error = parseError('# comment\n\nkey = value\n', { fileName: 'kinto.ini' });
    expect(error.line).toBe(3);
    expect(error.message).toBe("kinto.ini, line 3: File contains no section header before 'key = value'");
  });

  it('rejects duplicate sections and options', () => {
    expect(parseError('[a]\nx = 1\n[a]\n').message).toBe("<ini text>, line 3: Section 'a' already exists");
    expect(parseError('[a]\nx = 1\nx = 2\n').message).toBe(
      "<ini text>, line 3: Option 'x' in section 'a' already exists",
    );
  });

  it('allows [DEFAULT] to be reopened', () => {
    expect(section('[DEFAULT]\na = 1\n[x]\n[DEFAULT]\nb = 2\n', 'DEFAULT')).toEqual({ a: '1', b: '2' });
  });

  it('rejects lines without a delimiter and options without a name', () => {
    expect(parseError('[a]\njust words\n').message).toContain("Invalid line 'just words'");
    expect(parseError('[a]\n= value\n').message).toContain('Missing option name');
    expect(parseError('[a]\n[]\n').message).toContain("Invalid line '[]'");
  });
});

// Seeded and reproducible: the shared generator of the fuzz tests.
const mulberry32 = seededRandom;

const FRAGMENTS = [
  '[', ']', '[app:main]', '[DEFAULT]', '[formatter_x]', '=', ':', ' = ', '%', '%%', '%(', ')s', '%(here)s',
  '%(a)s', 'a', 'b', 'kinto.x', '#', ';', ' ', '    ', '\t', '\n', '\n', '\n', '\r\n', '\r', 'é', '\u0000',
  '\uFEFF', '"', '{}', 'true', '25',
];

describe('parseIni: fuzz', () => {
  it('either parses or throws a SettingsError, never anything else', () => {
    const random = mulberry32(20240607);
    let parsed = 0;
    for (let run = 0; run < 3000; run++) {
      const pieces: string[] = [];
      const length = Math.floor(random() * 60);
      for (let index = 0; index < length; index++) pieces.push(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]);
      const text = pieces.join('');
      try {
        const sections = parseIni(text, { here: '/here' });
        for (const values of sections.values()) {
          for (const value of values.values()) expect(typeof value).toBe('string');
        }
        parsed++;
      } catch (error) {
        if (!(error instanceof SettingsError)) throw new Error(`run ${run} threw ${String(error)} for ${JSON.stringify(text)}`);
        expect(error.message.length).toBeGreaterThan(0);
      }
    }
    // The generator must exercise both outcomes to be meaningful.
    expect(parsed).toBeGreaterThan(100);
    expect(parsed).toBeLessThan(3000);
  });

  it('reads back any generated well-formed file exactly', () => {
    const random = mulberry32(7);
    const word = (): string => Math.floor(random() * 1e9).toString(36);
    for (let run = 0; run < 300; run++) {
      const expected = new Map<string, Map<string, string>>();
      const lines: string[] = [];
      for (let s = 0; s < 1 + Math.floor(random() * 4); s++) {
        const name = `app:${word()}`;
        const values = new Map<string, string>();
        lines.push(random() < 0.5 ? `[${name}]` : `[${name}]  `);
        for (let o = 0; o < Math.floor(random() * 5); o++) {
          const items = Array.from({ length: 1 + Math.floor(random() * 3) }, word);
          const key = `Key.${word()}`;
          values.set(key, items.join('\n'));
          lines.push(`${key}${random() < 0.5 ? ' = ' : ':'}${items[0]}`, ...items.slice(1).map((item) => `    ${item}`));
          if (random() < 0.3) lines.push(random() < 0.5 ? '' : '# comment');
        }
        expected.set(name, values);
      }
      expect(parseIni(lines.join('\n'))).toEqual(expected);
    }
  });
});
