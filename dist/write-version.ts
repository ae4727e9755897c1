/**
 * Writes the Dockerflow `version.json` of an image: the distribution's dist/version.json,
 * with the commit and the build URL of this build (`VERSION_COMMIT`, `VERSION_BUILD`).
 * Usage: node dist/write-version.ts /app/version.json
 */
import { readFileSync, writeFileSync } from 'node:fs';

const template = JSON.parse(readFileSync(new URL('./version.json', import.meta.url), 'utf8')) as Record<string, string>;
const version = {
  ...template,
  commit: process.env.VERSION_COMMIT || template.commit,
  build: process.env.VERSION_BUILD || template.build,
};
const text = `${JSON.stringify(version, null, 2)}\n`;
const target = process.argv[2];
if (target) writeFileSync(target, text);
else process.stdout.write(text);
