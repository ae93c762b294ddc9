// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'node_modules/', '.vscode-test/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      curly: ['error', 'multi-line'],
      'no-throw-literal': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // engine/ runs in Node, a worker and a browser alike: no host, protocol or Node imports.
    files: ['engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['fs', 'path', 'os', 'child_process', 'util', 'events', 'crypto', 'buffer', 'worker_threads'].map(
            (name) => ({
              name,
              message: 'engine/ must not import Node modules',
            }),
          ),
          patterns: [
            {
              group: ['vscode', 'vscode-*', '@vscode/*'],
              message: 'engine/ must not import VS Code, DAP or LSP modules',
            },
            { group: ['node:*'], message: 'engine/ must not import Node modules' },
            {
              group: ['../extension/*', '../../extension/*', '../webview/*', '../../webview/*'],
              message: 'engine/ must not import its hosts',
            },
          ],
        },
      ],
    },
  },
  {
    // The adapter, server and CLI run as plain Node processes: never import vscode.
    files: ['extension/adapter/**/*.ts', 'extension/server/**/*.ts', 'extension/cli/**/*.ts', 'webview/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'only the extension glue imports vscode' }] },
      ],
    },
  },
  {
    files: ['bin/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.js', 'test/**/*.mjs'],
    languageOptions: {
      globals: { require: 'readonly', __dirname: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
  },
);
