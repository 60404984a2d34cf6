// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'test-artifacts/', 'bench-results/', '.mutants/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Template literals with numbers are the norm in error messages that name values and limits.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      'no-console': 'error',
      eqeqeq: 'error',
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      // With noUncheckedIndexedAccess, `xs[i]!` inside a bounds-checked loop is the honest form.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // A function fits on a screen (TigerBeetle's 70 lines): split it into named steps. Not for
    // tests and the conformance suites (a describe block holds its cases), nor the OpenAPI
    // document (one declaration, written as the object it is).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*-conformance.ts', 'src/http/openapi.ts'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 70, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      // The core is pure: time and randomness come in as arguments, never from globals.
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'the core takes time as an argument (nowMs)' },
        {
          object: 'Math',
          property: 'random',
          message: 'the core takes randomness as an argument (random01)',
        },
        {
          object: 'performance',
          property: 'now',
          message: 'the core takes time as an argument (nowMs)',
        },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'process',
        'fetch',
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            'fastify',
            'undici',
            'pino',
            '../adapters/*',
            '../http/*',
            '../node/*',
          ],
        },
      ],
    },
  },
  {
    // The wire format between nodes: both ends import it, so it imports neither end, only the
    // core's types and packages (typebox).
    files: ['src/protocol/**/*.ts'],
    ignores: ['src/protocol/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '!node:buffer', 'fastify', 'undici', 'pino', '../*', '!../core'],
              message:
                'src/protocol imports only src/core, node:buffer and packages: both ends import it',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../http/*', '../../http/*'],
              message:
                'adapters do not import the HTTP layer; shared wire types are in src/protocol',
            },
          ],
        },
      ],
    },
  },
  {
    // The node layer returns domain results; the HTTP layer maps them (src/http/refusals.ts).
    // Only the composition root (src/main/) wires the two together.
    files: ['src/node/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../http/*', '../web/*', '../main/*'],
              message: 'the node layer returns domain results and never imports the HTTP layer',
            },
          ],
        },
      ],
    },
  },
  {
    // The image's HEALTHCHECK starts a process every 5 s in each container: it loads Node's own
    // modules only (src/cli/healthcheck-main.ts says why).
    files: ['src/cli/healthcheck.ts', 'src/cli/healthcheck-main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./healthcheck\\.js$)',
              message: 'the healthcheck imports only node:* modules, to start in milliseconds',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
