import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type KintoError, invalidParameters } from '../errors.ts';
import { negotiationError } from './negotiation.ts';

/** Deeper bodies are refused: nothing legitimate nests this far, and recursion must stay bounded. */
export const MAX_JSON_DEPTH = 64;

export const JSON_TYPES = ['application/json', 'application/merge-patch+json', 'application/json-patch+json'];

/** Depth of nesting of a parsed JSON value, computed without recursion. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node as object)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Parses a JSON body with Kinto's errors: 400 "Invalid JSON", never a 500 on odd input. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // cornice names these errors '' (so the message is the bare description).
    throw invalidParameters('body', '', `Invalid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) {
    throw invalidParameters('body', '', 'Should be a JSON object or an array');
  }
  if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw invalidParameters('body', '', `Invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (text.includes('\\u0000')) assertNoNul(value);
  return value;
}

/** PostgreSQL's jsonb cannot hold U+0000: refuse it up front, whatever the backend. */
export function assertNoNul(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === 'string' && node.includes('\u0000')) {
      throw invalidParameters('body', null, 'Invalid character 0x00');
    }
    if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key.includes('\u0000')) throw invalidParameters('body', null, 'Invalid character 0x00');
        stack.push(child);
      }
    }
  }
}

function unsupportedMediaType(): KintoError {
  return negotiationError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type', JSON_TYPES);
}

/** Registers the JSON body types Kinto accepts; anything else with a body is a 415. */
export function registerContentTypes(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^application\/(json|merge-patch\+json|json-patch\+json)(\s*;.*)?$/i,
    { parseAs: 'string' },
    (request: FastifyRequest, text: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(String(request.headers['content-type']))?.[1];
      if (charset && !/^utf-?8$/i.test(charset)) {
        done(unsupportedMediaType());
        return;
      }
      try {
        done(null, parseJsonBody(String(text)));
      } catch (error) {
        done(error as Error);
      }
    },
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, text, done) => {
    if (String(text).length === 0) return done(null, undefined);
    // Without a Content-Type, cornice still reads the body as JSON.
    if (request.headers['content-type'] !== undefined) return done(unsupportedMediaType());
    try {
      done(null, parseJsonBody(String(text)));
    } catch (error) {
      done(error as Error);
    }
  });
}
