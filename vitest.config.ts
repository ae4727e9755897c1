import { defineConfig } from 'vitest/config';

// The HTTP suites run once per backend: memory (everything), then PostgreSQL and the
// embedded engine (the protocol and client suites), so every implementation is held to
// the same behaviour.
const HTTP_SUITES = [
  'test/protocol/**/*.test.ts',
  'test/clients/**/*.test.ts',
  // Remote Settings: the monitor's one-query read and concurrent approvals depend on the backend.
  'plugins/changes/test/**/*.test.ts',
  'plugins/signer/test/end-to-end.test.ts',
  // Attachments: file links are found by filters on the storage backend.
  'plugins/attachment/test/local.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60000,
    hookTimeout: 120000,
    projects: [
      {
        extends: true,
        test: {
          name: 'memory',
          include: ['test/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'core/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'postgresql', include: HTTP_SUITES, env: { KINTO_TEST_BACKEND: 'postgresql' } },
      },
      {
        extends: true,
        test: { name: 'pglite', include: HTTP_SUITES, env: { KINTO_TEST_BACKEND: 'pglite' } },
      },
    ],
  },
});
