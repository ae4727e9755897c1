import { describe, expect, it } from 'vitest';
import { formatTemplate, TemplateError } from '../format.ts';

const context = {
  id: 'abc',
  user_id: null,
  timestamp: 1500000000000,
  ratio: 0.5,
  flag: true,
  settings: { project_name: 'Kinto DEV' },
  impacted_objects: [{ new: { id: 'abc', tags: ['x', "it's"] } }],
};

describe('Python str.format', () => {
  it('formats names, keys and indexes as str() would', () => {
    expect(formatTemplate('{id} {user_id} {flag} {timestamp}', context)).toBe('abc None True 1500000000000');
    expect(formatTemplate('{settings[project_name]} {impacted_objects[0][new][id]} {id[0]}', context)).toBe('Kinto DEV abc a');
    expect(formatTemplate('{impacted_objects}', context)).toBe(`[{'new': {'id': 'abc', 'tags': ['x', "it's"]}}]`);
    expect(formatTemplate('{{id}} {{{id}}}', context)).toBe('{id} {abc}');
  });

  it('applies conversions and format specs', () => {
    expect(formatTemplate('{id!r} {id:>5}|{id:*^7}|{id:.2}', context)).toBe("'abc'   abc|**abc**|ab");
    expect(formatTemplate('{timestamp:,} {ratio:.1%} {ratio:08.3f} {timestamp:d}', context)).toBe('1,500,000,000,000 50.0% 0000.500 1500000000000');
  });

  it('leaves what Python could not resolve as written', () => {
    expect(formatTemplate('{missing} {settings[secret]} {id.upper} {0} {} {impacted_objects[3]}', context)).toBe(
      '{missing} {settings[secret]} {id.upper} {0} {} {impacted_objects[3]}',
    );
  });

  it('refuses malformed templates', () => {
    expect(() => formatTemplate('a } b', context)).toThrow(TemplateError);
    expect(() => formatTemplate('a { b', context)).toThrow(TemplateError);
    expect(() => formatTemplate('{id:d}', context)).toThrow(TemplateError);
    expect(() => formatTemplate('{id!x}', context)).toThrow(TemplateError);
  });
});
