// ESLint for the program files: typescript-eslint's strict type-checked rules on the TypeScript
// (the types come from tsconfig.json), plain recommended rules on the JavaScript.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'build/', 'test-artifacts/', '.mutation/', '.aquastop/', '.scratch/', '**/.tmp-*/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // noUncheckedIndexedAccess is on: `xs[i]!` after a length check is the idiom, not a smell.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers and booleans print well in messages; objects and nullish values still do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `return res.end(...)` ends a handler early; the house style reads fine.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Defensive checks where the type is narrower than the wire (and fallbacks that close the valve) are intended.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Async methods implement Promise-returning interfaces (Board, serialport bindings); a throw still rejects.
      '@typescript-eslint/require-await': 'off',
      // `void | Promise<void>` is how the callbacks that may be async are typed.
      '@typescript-eslint/no-invalid-void-type': 'off',
      // `const sim = this` feeds object-literal methods on purpose (tsx makes each arrow function ~250 bytes larger).
      '@typescript-eslint/no-this-alias': 'off',
      // The regexes with control characters strip terminal escapes and control characters on purpose.
      'no-control-regex': 'off',
      // A leading underscore marks a binding that is unused on purpose (rest-omits, positional parameters).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // No TypeScript enums here, and few class casts: these two cost ~4 s each of a lint run.
      '@typescript-eslint/no-unsafe-enum-assignment': 'off',
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // Type-only imports say so (erased for sure); `import('...').T` annotations stay for the lazily loaded modules.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // A switch over a union names every case, so a new event or fault is not silently ignored.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  // Tests poke at untyped JSON, child-process output and the browser page, and pass methods to expect().
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  // The printers of log records: every field is `unknown` by type and a string or number on the wire.
  {
    files: ['src/commands/sim-format.ts', 'src/commands/service/log.ts'],
    rules: { '@typescript-eslint/restrict-template-expressions': 'off', '@typescript-eslint/no-base-to-string': 'off' },
  },
  // JavaScript is outside tsconfig.json (no allowJs): no type information for it.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },
  // The dashboard page runs in the browser.
  { files: ['src/dashboard/public/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
);
