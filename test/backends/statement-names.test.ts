import { describe, expect, it } from 'vitest';
import { StatementNames } from '../../core/sql/pg-driver.ts';

describe('prepared statement names', () => {
  it('name a text from its third use on, always the same name, distinct per text', () => {
    const names = new StatementNames();
    expect(names.nameFor('SELECT $1')).toBeUndefined();
    expect(names.nameFor('SELECT $1')).toBeUndefined();
    const name = names.nameFor('SELECT $1');
    expect(name).toMatch(/^kinto_\d+$/);
    expect(names.nameFor('SELECT $1')).toBe(name);
    for (let i = 0; i < 3; i++) names.nameFor('SELECT $2');
    expect(names.nameFor('SELECT $2')).not.toBe(name);
  });

  it('name at most `limit` texts: filter shapes beyond stay unnamed', () => {
    const names = new StatementNames(2);
    for (const text of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) names.nameFor(text);
    expect(names.nameFor('a')).toBeDefined();
    expect(names.nameFor('b')).toBeDefined();
    expect(names.nameFor('c')).toBeUndefined();
  });

  it('name nothing with a limit of 0 (prepared statements off)', () => {
    const names = new StatementNames(0);
    for (let i = 0; i < 5; i++) expect(names.nameFor('SELECT $1')).toBeUndefined();
  });
});
