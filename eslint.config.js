// Lint rules for every package: type-checked typescript-eslint rules, plus the layering rules that keep the
// protocol free of Node and every package free of imports that point the wrong way.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'url', 'worker_threads'];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'bench/workspaces/**', 'coverage/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'], defaultProject: 'tsconfig.base.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The wire contract runs anywhere: no Node, and none of our other packages.
    files: ['protocol/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'protocol/ is environment-neutral: no Node modules.' },
            { group: ['vscode-jsonrpc/node'], message: 'protocol/ uses the neutral entry of vscode-jsonrpc.' },
            { group: ['@prometeu/*'], message: 'protocol/ depends on no other package of ours.' },
          ],
        },
      ],
    },
  },
  {
    // The client library is what editors and Studio import: it must not pull in the server or the CLI.
    files: ['client/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@prometeu/packer-server', '@prometeu/packer-server/*'],
              message: 'client/ never depends on the server.',
            },
            { group: ['@prometeu/packer-cli', '@prometeu/packer-cli/*'], message: 'client/ never depends on the CLI.' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@prometeu/packer-client',
                '@prometeu/packer-client/*',
                '@prometeu/packer-cli',
                '@prometeu/packer-cli/*',
              ],
              message: 'server/ depends on protocol/ only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests: vitest's asymmetric matchers are typed `any`, and fakes implement async interfaces without
    // awaiting anything. The promise and exhaustiveness rules stay on.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `sendRequest(...) as T` on an untyped method string reads better in a test than a type argument.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // Confinement by construction: only server/src/io/ touches the file system (see ARCHITECTURE.md, io/).
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/io/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:fs', message: 'Only server/src/io/ touches the file system: use its ProjectFs.' },
            { name: 'node:fs/promises', message: 'Only server/src/io/ touches the file system: use its ProjectFs.' },
            { name: 'fs', message: 'Only server/src/io/ touches the file system: use its ProjectFs.' },
            { name: 'fs/promises', message: 'Only server/src/io/ touches the file system: use its ProjectFs.' },
          ],
        },
      ],
    },
  },
  {
    // Callbacks handed to Playwright run in the page: the test tsconfig has no DOM library to type them.
    files: ['test/browser/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearTimeout: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    // CommonJS scripts (the VS Code extension's bundle is run from one in its test): Node's CommonJS globals.
    files: ['**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
