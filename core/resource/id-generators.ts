import { randomInt, randomUUID } from 'node:crypto';
import type { IdGenerator } from './definition.ts';

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Bucket, collection and group ids: 8 chars, generated like Kinto's NameGenerator. */
export const nameGenerator: IdGenerator = {
  pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/,
  generate() {
    const alphabet = `${ALPHANUMERIC}-_`;
    let id = ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
    for (let i = 0; i < 7; i += 1) id += alphabet[randomInt(alphabet.length)];
    return id;
  },
};

/** Strict UUID4 (Kinto's default `id_generator`). */
export const uuid4Generator: IdGenerator = {
  pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  generate: () => randomUUID(),
};

/** Records: generates UUID4 but accepts any name-like id (Kinto's RelaxedUUID). */
export const relaxedUuidGenerator: IdGenerator = {
  pattern: nameGenerator.pattern,
  generate: () => randomUUID(),
};

/** Python class names operators write in `*_id_generator` settings. */
export const ID_GENERATORS: Record<string, IdGenerator> = {
  'kinto.views.NameGenerator': nameGenerator,
  'kinto.views.RelaxedUUID': relaxedUuidGenerator,
  'kinto.core.storage.generators.UUID4': uuid4Generator,
};
