/**
 * The `ldap.filters` template: an LDAP search filter in which `{mail}` stands for the
 * username typed by the client. The username is escaped (RFC 4515) before it is put in,
 * so that no client can change the filter's structure (`*)(mail=*` matches nothing).
 */
import { FilterParser } from 'ldapts';

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** RFC 4515 §3: `*`, `(`, `)`, `\` and NUL are written as `\` and two hex digits. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Why a template is not usable (like kinto-ldap's ConfigurationError), or null. */
export function filterTemplateProblem(template: string): string | null {
  const names = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
  const others = names.filter((name) => name !== 'mail');
  if (others.length) return `ldap.filters should take a 'mail' argument only, got: '${template}'`;
  if (!names.includes('mail')) return `ldap.filters should take a 'mail' argument, got: '${template}'`;
  try {
    FilterParser.parseString(buildFilter(template, 'test'));
  } catch (error) {
    return `ldap.filters is not a valid LDAP filter (${(error as Error).message}), got: '${template}'`;
  }
  return null;
}

/** The search filter for `username`, escaped. */
export function buildFilter(template: string, username: string): string {
  const escaped = escapeFilterValue(username);
  return template.replace(/\{mail\}/g, () => escaped);
}
