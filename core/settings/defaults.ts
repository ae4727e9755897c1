/**
 * Kinto's effective default settings, unprefixed, with native values (lists as
 * the whitespace-separated text Kinto reads with `aslist`), derived from the
 * declarations in core/settings/catalog.
 *
 * Being listed here matters beyond the value: only settings that exist (in the
 * INI or here) can be overridden from the environment.
 */
export { CORE_DEFAULTS as DEFAULT_SETTINGS } from './catalog/index.ts';
