/**
 * The project explains itself: every file a comment or a document cites exists. A citation is
 * a repository path (`src/machine/catalogue.ts`, `./README.md`, `../firmware/PROTOCOL.md`), a
 * Markdown link to a local file, or a bare document name (`DESIGN.md`); it resolves against
 * the citing file's folder or the repository root. Web addresses are not citations.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const TEXT = /\.(ts|mts|js|mjs|cjs|md|c|h|cpp|ya?ml|conf|service|html|css|sh)$/;
const EXT = '(?:ts|mts|js|mjs|cjs|md|c|h|cpp|ino|json|ya?ml|conf|service|html|css|sh|hex)';
/** A path with at least one folder, or a bare upper-case document name such as README.md. */
const CITATION = new RegExp(`(?<![\\w/.:@-])((?:\\.{1,2}/)*(?:[\\w.-]+/)+[\\w.-]+\\.${EXT}|[A-Z][A-Z0-9_-]+\\.md)(?![\\w/-])`, 'g');
const MD_LINK = /\]\(((?!https?:|mailto:|#)[^)\s#]+)(?:#[^)]*)?\)/g;

function tracked(): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && TEXT.test(f) && existsSync(f) && !f.startsWith('node_modules/') && !f.includes('/fixtures/'));
}

/**
 * What a file says to a reader: a document whole, a program's comments only (its strings and
 * imports are code, checked by the compiler and the tests). C's `#include <...>` names a
 * system header.
 */
function commentsOf(file: string, text: string): string {
  if (file.endsWith('.md')) return text;
  if (/\.(ya?ml|conf|service|sh)$/.test(file)) return [...text.matchAll(/(?:^|\s)#(.*)$/gm)].map((m) => m[1]).join('\n');
  if (file.endsWith('.html')) return [...text.matchAll(/<!--([\s\S]*?)-->/g)].map((m) => m[1]).join('\n');
  const code = text.replace(/^\s*#\s*include\s*<[^>]*>/gm, '');
  return [...code.matchAll(/\/\*([\s\S]*?)\*\/|(?<![:'"\\])\/\/(.*)$/gm)].map((m) => m[1] ?? m[2]).join('\n');
}

/** Drops web addresses, so a path inside a URL is not taken for a citation. */
const withoutUrls = (text: string) => text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)'"`>\]]+/gi, ' ');

/** Paths that are examples or what a program writes, not files of this repository. */
const NOT_OURS = [
  /^path\/to\//,
  /(^|\/)gen\//,
  /^\/(dev|tmp|etc|usr|var|proc|sys|run|lib|opt|home|root)\//,
  /^node_modules\//,
  /(^|\/)\.(mutation|aquastop|scratch)\//,
  /^test-artifacts\//,
  /^build\//,
  /\*/,
  /<[^>]*>/,
];

/**
 * Resolves against the citing file's folder, the root, or as the tail of a path in the
 * repository (prose names `firmware/PROTOCOL.md` or a bare `PROTOCOL.md`); a `.js` import
 * specifier names its TypeScript source.
 */
function resolves(from: string, cited: string, all: readonly string[]): boolean {
  const names = [cited, ...(/\.[mc]?js$/.test(cited) ? [cited.replace(/\.([mc]?)js$/, '.$1ts')] : [])];
  for (const name of names) {
    if (existsSync(join(dirname(from), name)) || existsSync(normalize(name))) return true;
    const tail = name.replace(/^(\.{1,2}\/)+/, '');
    if (all.some((f) => f === tail || f.endsWith(`/${tail}`))) return true;
  }
  return false;
}

export function brokenCitations(files: string[], all: readonly string[] = tracked()): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const text = withoutUrls(commentsOf(file, readFileSync(file, 'utf8')));
    const cited = new Set<string>();
    for (const m of text.matchAll(CITATION)) cited.add(m[1]!);
    if (file.endsWith('.md')) for (const m of text.matchAll(MD_LINK)) cited.add(m[1]!);
    for (const c of cited) {
      if (NOT_OURS.some((r) => r.test(c))) continue;
      if (!resolves(file, c, all)) broken.push(`${file}: cites ${c}, which does not exist`);
    }
  }
  return broken;
}

describe('citations', () => {
  it('every file a comment or a document cites exists', () => {
    // Not this file: it cites a missing one on purpose, as the sample below.
    const files = tracked().filter((f) => f !== 'test/citations.test.ts');
    expect(files.length).toBeGreaterThan(100);
    expect(brokenCitations(files)).toEqual([]);
  });

  it('catches a citation of a missing file, and ignores web addresses', () => {
    // This file's own text is the sample: it cites README.md (exists) and DESIGN.md (does not).
    const here = 'test/citations.test.ts';
    const broken = brokenCitations([here]);
    expect(broken).toContain(`${here}: cites DESIGN.md, which does not exist`);
    expect(broken.some((b) => b.includes('README.md'))).toBe(false);
    expect(broken.some((b) => b.includes('github.com'))).toBe(false);
    // https://github.com/stryker-mutator/stryker-js/blob/master/packages/core/src/missing-file.ts
  });
});
