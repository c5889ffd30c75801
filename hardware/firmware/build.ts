/**
 * Builds the Uno firmware (hardware/firmware/src + the Arduino core Debian ships) into an Intel
 * HEX file with avr-gcc/avr-g++, called through execFile (no make, no shell).
 *
 * Contract:
 * - `buildFirmware({ outDir })` resolves to `{ hexPath, ms, flashBytes, cached }`; default
 *   outDir is `<repo>/build/firmware`, the image `<outDir>/aquastop.hex`.
 * - Reproducible: fixed flags, sorted inputs, no __DATE__/__TIME__, so the same sources, pins.json
 *   and flags give the same .hex bytes.
 * - Cached by a hash of all inputs: a second call with the same inputs returns at once
 *   (in-process memo, then `<outDir>/aquastop.hash` on disk). The core archive is cached too.
 * - Safe to run from parallel processes into one outDir: work happens in a private temp dir,
 *   results are moved into place with rename().
 * - Every failure is a FirmwareBuildError with a one-line message (missing tool, compiler
 *   error, image too big); no compiler spew, no stack trace needed.
 * - `aq_pins.h` is generated from hardware/pins.json into `<outDir>/gen/`, never committed.
 * - The image ends with the CRC of the flash before it (flash-crc.ts), which the firmware's boot
 *   self-test checks (src/selftest.cpp).
 * - `testImage: true` compiles the test-only commands in (`-DAQ_TEST_IMAGE`: TEST_HANG, PROTOCOL.md
 *   section 2), into `<repo>/build/firmware-test` by default and never into the default outDir,
 *   which holds the image `aquastop firmware build`/`flash` and the emulated board use.
 *
 * Steps, each a function below: planBuild (check the tools, the core and the pin map; hash the
 * inputs), then, unless cached, compileCore (once per core hash), compileOwn, linkImage (ELF,
 * .hex with the flash CRC, size check) and install (rename into outDir, the hash last).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ZodError } from 'zod';
import { loadPins, pinsJsonPath, pinsSchema, type PinMap } from '../pins.js';
import { generatePinsHeader } from './pins-header.js';
import { parseIntelHex } from './intel-hex.js';
import { appendFlashCrc } from './flash-crc.js';

const run = promisify(execFile);

/** Uno: 32 KiB flash minus the 512-byte optiboot bootloader. */
export const UNO_APP_FLASH_BYTES = 32 * 1024 - 512;
export const DEFAULT_CORE_DIR = '/usr/share/arduino/hardware/arduino/avr';

const firmwareDir = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SRC_DIR = join(firmwareDir, 'src');
const repoRoot = resolve(firmwareDir, '..', '..');
export const DEFAULT_OUT_DIR = join(repoRoot, 'build', 'firmware');
/** Where test images go unless told otherwise: never beside the image users flash. */
export const DEFAULT_TEST_OUT_DIR = join(repoRoot, 'build', 'firmware-test');
/** What makes an image a test image: the firmware compiles its test-only commands in. */
export const TEST_IMAGE_FLAGS: readonly string[] = ['-DAQ_TEST_IMAGE'];

export interface FirmwareTools {
  readonly gcc: string;
  readonly gxx: string;
  readonly objcopy: string;
  readonly ar: string;
}

export interface BuildOptions {
  /** Output directory (created); default `<repo>/build/firmware`. */
  readonly outDir?: string;
  /**
   * Firmware sources (*.cpp, *.c, *.S, *.h); default hardware/firmware/src. The mutation tests
   * build altered copies of it (test/firmware-mutants/).
   */
  readonly srcDir?: string;
  /** Arduino AVR core (cores/arduino, variants/standard); default Debian's arduino-core-avr. */
  readonly coreDir?: string;
  /** Extra flags for every compile (part of the cache key). */
  readonly extraFlags?: readonly string[];
  /** Tool names or paths; default the avr-* tools on PATH. */
  readonly tools?: Partial<FirmwareTools>;
  /** Ignore the cache. */
  readonly force?: boolean;
  /**
   * A test image: the firmware's own sources get {@link TEST_IMAGE_FLAGS} (its test-only
   * commands). Default outDir {@link DEFAULT_TEST_OUT_DIR}; the default outDir is refused.
   */
  readonly testImage?: boolean;
  /**
   * Pin map and timings to build with; default hardware/pins.json. Tests use it to build a
   * variant with a short debounce (use a separate outDir for each variant).
   */
  readonly pins?: PinMap;
}

export interface BuildResult {
  readonly hexPath: string;
  /** Wall time of this call. */
  readonly ms: number;
  /** Bytes the image writes to flash. */
  readonly flashBytes: number;
  /** True when nothing was compiled (inputs unchanged). */
  readonly cached: boolean;
}

export class FirmwareBuildError extends Error {
  readonly firmwareBuildError = true;
  constructor(message: string) {
    super(message);
    this.name = 'FirmwareBuildError';
  }
}

export function isFirmwareBuildError(err: unknown): err is FirmwareBuildError {
  return typeof err === 'object' && err !== null && (err as { firmwareBuildError?: unknown }).firmwareBuildError === true;
}

const DEFAULT_TOOLS: FirmwareTools = { gcc: 'avr-gcc', gxx: 'avr-g++', objcopy: 'avr-objcopy', ar: 'avr-ar' };

const COMMON = [
  '-c',
  '-Os',
  '-mmcu=atmega328p',
  '-DF_CPU=16000000L',
  '-DARDUINO=10807',
  '-DARDUINO_AVR_UNO',
  '-DARDUINO_ARCH_AVR',
  '-DDECIMAL_DIG=__DECIMAL_DIG__',
  '-ffunction-sections',
  '-fdata-sections',
];
const CXX = ['-std=gnu++11', '-fpermissive', '-fno-exceptions', '-fno-threadsafe-statics'];
const CC = ['-std=gnu11'];
const ASM = ['-x', 'assembler-with-cpp'];
/** The core is compiled quietly, as the Arduino IDE does; our own sources must compile without a warning. */
const CORE_WARNINGS = ['-w'];
const OWN_WARNINGS = ['-Wall', '-Wextra', '-Werror'];
const LINK = ['-Os', '-mmcu=atmega328p', '-Wl,--gc-sections'];
/** Bump when the build steps change in a way the flags do not show. */
const BUILD_RECIPE = 'aquastop-firmware-build-2-flash-crc';

export function findOnPath(name: string): string | null {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function listSources(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(c|cpp|S)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function hashFiles(hash: ReturnType<typeof createHash>, files: readonly string[]): void {
  for (const f of files) {
    hash.update(basename(f)).update('\0').update(readFileSync(f)).update('\0');
  }
}

function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.find((l) => /error/i.test(l)) ?? lines[0] ?? 'no message').slice(0, 300);
}

async function tool(bin: string, args: readonly string[], what: string): Promise<void> {
  try {
    await run(bin, args as string[], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw new FirmwareBuildError(`${bin} not found: install gcc-avr, avr-libc and arduino-core-avr`);
    throw new FirmwareBuildError(`${basename(bin)} failed on ${what}: ${firstErrorLine(e.stderr || e.message || '')}`);
  }
}

/** Runs jobs with at most `limit` in flight (the machine's cores are shared). */
async function pool<T>(items: readonly T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await job(items[next++]!);
  });
  await Promise.all(workers);
}

/** Everything a build needs, checked and hashed before anything is compiled. */
interface BuildPlan {
  readonly outDir: string;
  readonly srcDir: string;
  readonly tools: FirmwareTools;
  /** `cores/arduino` and `variants/standard` of the Arduino core. */
  readonly coreSrc: string;
  readonly variant: string;
  /** Flags for every compile (the caller's extraFlags). */
  readonly extra: readonly string[];
  /** Flags for our own sources only (a test image's). */
  readonly ownExtra: readonly string[];
  /** The generated aq_pins.h. */
  readonly header: string;
  readonly coreFiles: readonly string[];
  readonly ownFiles: readonly string[];
  /** Hash of what the core archive depends on. */
  readonly coreKey: string;
  /** Hash of every input of the image. */
  readonly key: string;
}

/** Where the build goes and with which own-source flags; a test image never goes where the shipped one does. */
function outputFor(options: BuildOptions): { outDir: string; ownExtra: string[] } {
  const outDir = resolve(options.outDir ?? (options.testImage ? DEFAULT_TEST_OUT_DIR : DEFAULT_OUT_DIR));
  if (options.testImage && outDir === DEFAULT_OUT_DIR) {
    throw new FirmwareBuildError(`a test image is never built into ${DEFAULT_OUT_DIR}, where the image boards are flashed with goes`);
  }
  return { outDir, ownExtra: options.testImage ? [...TEST_IMAGE_FLAGS] : [] };
}

/** The avr tools and the Arduino core are there, or one line saying what to install. */
function checkToolchain(tools: FirmwareTools, coreDir: string): { coreSrc: string; variant: string } {
  for (const t of [tools.gcc, tools.gxx, tools.objcopy, tools.ar]) {
    if (!findOnPath(t)) throw new FirmwareBuildError(`${t} not found: install gcc-avr, avr-libc and arduino-core-avr (Debian packages)`);
  }
  const coreSrc = join(coreDir, 'cores', 'arduino');
  const variant = join(coreDir, 'variants', 'standard');
  if (!existsSync(join(coreSrc, 'Arduino.h')) || !existsSync(join(variant, 'pins_arduino.h'))) {
    throw new FirmwareBuildError(`Arduino AVR core not found in ${coreDir}: install arduino-core-avr`);
  }
  return { coreSrc, variant };
}

/** aq_pins.h from the given pin map or hardware/pins.json; an invalid map is one line naming the field. */
function pinsHeaderFor(pinMap: PinMap | undefined): string {
  try {
    return generatePinsHeader(pinMap ? pinsSchema.parse(pinMap) : loadPins());
  } catch (err) {
    const issue = err instanceof ZodError ? err.issues[0] : undefined;
    const why = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new FirmwareBuildError(`${pinMap ? 'pin map' : pinsJsonPath} is invalid: ${why}`);
  }
}

/** Checks the inputs and hashes them: the core's key, then the whole image's. */
function planBuild(options: BuildOptions): BuildPlan {
  const { outDir, ownExtra } = outputFor(options);
  const tools: FirmwareTools = { ...DEFAULT_TOOLS, ...options.tools };
  const extra = [...(options.extraFlags ?? [])];
  const srcDir = resolve(options.srcDir ?? DEFAULT_SRC_DIR);
  if (!existsSync(srcDir)) throw new FirmwareBuildError(`firmware source directory ${srcDir} does not exist`);
  const { coreSrc, variant } = checkToolchain(tools, options.coreDir ?? DEFAULT_CORE_DIR);
  const header = pinsHeaderFor(options.pins);
  const coreFiles = listSources(coreSrc);
  const ownFiles = listSources(srcDir);
  const ownHeaders = readdirSync(srcDir)
    .filter((f) => f.endsWith('.h'))
    .sort()
    .map((f) => join(srcDir, f));

  const coreHash = createHash('sha256')
    .update(BUILD_RECIPE)
    .update(JSON.stringify([tools, COMMON, CXX, CC, ASM, CORE_WARNINGS, extra]));
  hashFiles(coreHash, coreFiles);
  hashFiles(
    coreHash,
    readdirSync(coreSrc)
      .filter((f) => f.endsWith('.h'))
      .sort()
      .map((f) => join(coreSrc, f)),
  );
  const coreKey = coreHash.digest('hex');
  const fullHash = createHash('sha256')
    .update(coreKey)
    .update(header)
    .update(JSON.stringify([OWN_WARNINGS, LINK, ownExtra]));
  hashFiles(fullHash, [...ownFiles, ...ownHeaders]);
  const key = fullHash.digest('hex');
  return { outDir, srcDir, tools, coreSrc, variant, extra, ownExtra, header, coreFiles, ownFiles, coreKey, key };
}

function flagsFor(file: string): string[] {
  return file.endsWith('.S') ? [...COMMON, ...ASM] : file.endsWith('.c') ? [...COMMON, ...CC] : [...COMMON, ...CXX];
}

function compilerFor(plan: BuildPlan, file: string): string {
  return file.endsWith('.cpp') ? plan.tools.gxx : plan.tools.gcc;
}

function coreIncludes(plan: BuildPlan): string[] {
  return [`-I${plan.coreSrc}`, `-I${plan.variant}`];
}

/** The core: compiled once per core/flags hash, archived so only what is used gets linked. Returns the archive. */
async function compileCore(plan: BuildPlan, workDir: string): Promise<string> {
  const coreDirOut = join(plan.outDir, 'core');
  const coreArchive = join(coreDirOut, `core-${plan.coreKey.slice(0, 16)}.a`);
  if (existsSync(coreArchive)) return coreArchive;
  const objs = plan.coreFiles.map((file) => join(workDir, `core-${basename(file)}.o`));
  await pool(plan.coreFiles, 2, async (file) => {
    const obj = join(workDir, `core-${basename(file)}.o`);
    await tool(compilerFor(plan, file), [...flagsFor(file), ...CORE_WARNINGS, ...plan.extra, ...coreIncludes(plan), file, '-o', obj], `core ${basename(file)}`);
  });
  const tmpArchive = join(workDir, 'core.a');
  await tool(plan.tools.ar, ['rcsD', tmpArchive, ...objs], 'core.a');
  mkdirSync(coreDirOut, { recursive: true });
  renameSync(tmpArchive, coreArchive);
  return coreArchive;
}

/** Our own sources, without a warning; `gen` holds aq_pins.h. Returns the objects. */
async function compileOwn(plan: BuildPlan, workDir: string, gen: string): Promise<string[]> {
  const ownObjs = plan.ownFiles.map((f) => join(workDir, `${basename(f)}.o`));
  await pool(plan.ownFiles, 2, async (file) => {
    const obj = join(workDir, `${basename(file)}.o`);
    await tool(
      compilerFor(plan, file),
      [...flagsFor(file), ...OWN_WARNINGS, ...plan.extra, ...plan.ownExtra, `-I${gen}`, `-I${plan.srcDir}`, ...coreIncludes(plan), file, '-o', obj],
      `src/${basename(file)}`,
    );
  });
  return ownObjs;
}

/** Links, converts to Intel HEX with the flash CRC appended, checks the size. Returns the ELF and the .hex in workDir. */
async function linkImage(plan: BuildPlan, workDir: string, objs: readonly string[], coreArchive: string): Promise<{ elf: string; hex: string }> {
  const elf = join(workDir, 'aquastop.elf');
  await tool(plan.tools.gcc, [...LINK, '-o', elf, ...objs, coreArchive, '-lm'], 'link');
  const hex = join(workDir, 'aquastop.hex');
  const plainHex = join(workDir, 'aquastop-no-crc.hex');
  await tool(plan.tools.objcopy, ['-O', 'ihex', '-R', '.eeprom', elf, plainHex], 'objcopy');
  try {
    writeFileSync(hex, appendFlashCrc(readFileSync(plainHex, 'utf8')).hex);
  } catch (err) {
    throw new FirmwareBuildError(`flash CRC: ${err instanceof Error ? err.message : String(err)}`);
  }
  const size = parseIntelHex(readFileSync(hex, 'utf8')).bytesWritten;
  if (size > UNO_APP_FLASH_BYTES) {
    throw new FirmwareBuildError(`firmware is ${size} bytes, more than the Uno's ${UNO_APP_FLASH_BYTES} bytes of application flash`);
  }
  return { elf, hex };
}

/** Moves the results into outDir with rename(), the hash last: a reader sees the old build or the whole new one. */
function install(plan: BuildPlan, workDir: string, gen: string, built: { elf: string; hex: string }): void {
  // Kept beside the image for inspection (avr-objdump, avr-size) and for the curious.
  mkdirSync(join(plan.outDir, 'gen'), { recursive: true });
  renameSync(join(gen, 'aq_pins.h'), join(plan.outDir, 'gen', 'aq_pins.h'));
  renameSync(built.elf, join(plan.outDir, 'aquastop.elf'));
  renameSync(built.hex, join(plan.outDir, 'aquastop.hex'));
  writeFileSync(join(workDir, 'hash'), plan.key);
  renameSync(join(workDir, 'hash'), join(plan.outDir, 'aquastop.hash'));
}

/**
 * Compiles, links and installs. Everything is built in a private work directory and moved into
 * place with rename(), so parallel test workers building into the same outDir never see
 * half-written files.
 */
async function compileAndInstall(plan: BuildPlan): Promise<void> {
  mkdirSync(plan.outDir, { recursive: true });
  const workDir = mkdtempSync(join(plan.outDir, '.work-'));
  try {
    const gen = join(workDir, 'gen');
    mkdirSync(gen);
    writeFileSync(join(gen, 'aq_pins.h'), plan.header);
    const coreArchive = await compileCore(plan, workDir);
    const objs = await compileOwn(plan, workDir, gen);
    install(plan, workDir, gen, await linkImage(plan, workDir, objs, coreArchive));
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

const memo = new Map<string, Promise<BuildResult>>();

export async function buildFirmware(options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const plan = planBuild(options);
  const hexPath = join(plan.outDir, 'aquastop.hex');
  const hashPath = join(plan.outDir, 'aquastop.hash');
  const memoKey = `${plan.outDir}\0${plan.key}`;
  const finish = (cached: boolean): BuildResult => ({
    hexPath,
    ms: Math.round(performance.now() - started),
    flashBytes: parseIntelHex(readFileSync(hexPath, 'utf8')).bytesWritten,
    cached,
  });

  if (!options.force) {
    const pending = memo.get(memoKey);
    if (pending) return pending.then(() => finish(true));
    if (existsSync(hexPath) && existsSync(hashPath) && readFileSync(hashPath, 'utf8') === plan.key) return finish(true);
  }

  const work = compileAndInstall(plan).then(() => finish(false));
  memo.set(memoKey, work);
  try {
    return await work;
  } catch (err) {
    memo.delete(memoKey);
    throw err;
  }
}
