/** The declaration facility itself: conversions, refusals, namespaces, patterns. */
import { describe, expect, it } from 'vitest';
import { defineSettings, InvalidSettingValue, setting } from '../../core/settings/schema.ts';
import { Settings } from '../../core/settings/settings.ts';

describe('setting builders', () => {
  it('convert INI text and refuse what does not fit', () => {
    const count = setting.int({ default: 5, min: 0, description: 'd' });
    expect(count.normalize(count.fromText('12'))).toBe(12);
    expect(count.normalize(count.fromText(''))).toBe(5);
    expect(() => count.normalize(count.fromText('-1'))).toThrow(new InvalidSettingValue('must be an integer >= 0, got -1'));
    expect(() => count.normalize(count.fromText('1.5'))).toThrow(InvalidSettingValue);

    const flag = setting.bool({ default: true, description: 'd' });
    expect(['yes', 'On', '1', 'true'].map((text) => flag.normalize(flag.fromText(text)))).toEqual([true, true, true, true]);
    expect(['no', 'OFF', '0', 'false'].map((text) => flag.normalize(flag.fromText(text)))).toEqual([false, false, false, false]);
    expect(() => flag.normalize('sometimes')).toThrow(InvalidSettingValue);

    const address = setting.url({ example: 'udp://host:8125', schemes: ['udp'], description: 'd' });
    expect(address.normalize(' udp://localhost:8125 ')).toBe('udp://localhost:8125');
    expect(() => address.normalize('tcp://localhost:8125')).toThrow('must be a URL like udp://host:8125 (udp)');

    const text = setting.string({ description: 'd' });
    expect(text.normalize(text.fromText('1.10'))).toBe('1.10');
    expect(text.normalize(text.fromText('"quoted"'))).toBe('quoted');
    expect(setting.list({ description: 'd' }).parse(' a\n b  c ')).toEqual(['a', 'b', 'c']);
  });

  it('distinguish an unset optional integer (default) from an empty one (none)', () => {
    const maxAge = setting.optionalInt({ default: 3600, description: 'd' });
    expect(maxAge.default).toBe(3600);
    expect(maxAge.normalize('')).toBeNull();
  });
});

describe('defineSettings', () => {
  const group = defineSettings(
    'kinto.demo.',
    { size: setting.int({ default: 2, description: 'd' }), names: setting.list({ default: ['a'], description: 'd' }) },
    [{ pattern: /^demo\.[\w-]+\.size$/, example: 'demo.blog.size', spec: setting.int({ default: 0, description: 'd' }) }],
  );

  it('drops the kinto. prefix and knows declared and pattern names', () => {
    expect(group.namespace).toBe('demo.');
    expect(group.key('size')).toBe('demo.size');
    expect(group.entries().map(([name]) => name)).toEqual(['demo.size', 'demo.names']);
    expect(group.specFor('demo.blog.size')?.type).toBe('int');
    expect(group.specFor('demo.other')).toBeUndefined();
  });

  it('reads typed values, with defaults for what is unset', () => {
    expect(group.read(new Settings({ 'demo.size': 7 }))).toEqual({ size: 7, names: ['a'] });
  });

  it('refuses a namespace that would glue names together', () => {
    expect(() => defineSettings('demo', {})).toThrow("Settings namespace 'demo' must end with '.' or '_'");
  });
});
