/**
 * Durable replacement of a small file (the controller's memory, the fault outbox): after
 * `writeDurably` returns, a power cut leaves the new contents; a power cut during it leaves
 * the old or the new contents, never a torn, empty or missing file.
 *
 * The sequence is the one storage engines use: write a temp file, fsync it (its data is on
 * disk before anything names it), rename it over the old one (atomic on POSIX), then fsync the
 * directory (the rename itself is on disk). Without the first fsync a file system may persist
 * the rename before the data (an empty file after a crash); without the second the rename may
 * be lost after the call returned.
 *
 * The file-system calls go through `DurableFs`, so a test can record them and replay every
 * crash point (test/board/durable-file.test.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DurableFs {
  mkdir(dir: string): void;
  /** Create or truncate `path` and write `data` (not yet durable). */
  writeFile(path: string, data: string): void;
  /** Make the data of `path` durable. */
  fsyncFile(path: string): void;
  rename(from: string, to: string): void;
  /** Make the entries of `dir` (creations, renames) durable. */
  fsyncDir(dir: string): void;
}

export const nodeDurableFs: DurableFs = {
  mkdir: (dir) => mkdirSync(dir, { recursive: true }),
  writeFile: (path, data) => {
    const fd = openSync(path, 'w', 0o600);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
  fsyncFile: (path) => fsyncAt(path, 'r+'),
  rename: (from, to) => renameSync(from, to),
  fsyncDir: (dir) => fsyncAt(dir, 'r'),
};

function fsyncAt(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` with `data` durably (see above). `tmpSuffix` keeps concurrent writers apart. */
export function writeDurably(path: string, data: string, fs: DurableFs = nodeDurableFs, tmpSuffix = `${process.pid}.tmp`): void {
  const dir = dirname(path);
  fs.mkdir(dir);
  const tmp = `${path}.${tmpSuffix}`;
  fs.writeFile(tmp, data);
  fs.fsyncFile(tmp);
  fs.rename(tmp, path);
  fs.fsyncDir(dir);
}
