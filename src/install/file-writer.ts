import {Worker} from 'node:worker_threads';

/** One file-system step, done in order by the writer thread. */
type Op = {kind: 'dir'; path: string; mode: number} | {kind: 'symlink'; path: string; target: string} | {kind: 'file'; path: string; mode: number; data: Uint8Array};

interface Failure {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/**
 * The writer thread's code, evaluated as a CommonJS script: plain JS, so it runs the same from
 * `dist/` and under tsx, and loads nothing native (stopping it is always safe). Synchronous calls:
 * one thread making three syscalls per small file beats the thread pool's hand-offs (4x on the 6.12
 * tree). 'wx' is O_CREAT|O_EXCL, which never follows a symlink planted at the name. After a failure
 * every later batch is refused.
 */
const WORKER_SOURCE = `
const {parentPort} = require('node:worker_threads');
const fs = require('node:fs');
let failed = null;
parentPort.on('message', (ops) => {
  if (!failed) {
    try {
      for (const op of ops) {
        if (op.kind === 'dir') fs.mkdirSync(op.path, {mode: op.mode});
        else if (op.kind === 'symlink') fs.symlinkSync(op.target, op.path);
        else fs.writeFileSync(op.path, op.data, {flag: 'wx', mode: op.mode});
      }
    } catch (e) {
      failed = {message: e.message, code: e.code, syscall: e.syscall, path: e.path};
    }
  }
  parentPort.postMessage(failed);
});
`;

const BATCH_BYTES = 256 * 1024;
const BATCH_OPS = 128;
/** Batches posted but not yet done: bounds what a slow disk makes us hold to about a MB. */
const MAX_IN_FLIGHT = 4;

/**
 * Creates dirs, files and symlinks on a second thread, in the order given. Installing is mostly
 * file creation in the kernel (~280 us per file on a small VM: 2 s for the 6.12 tree); on its own
 * thread it overlaps with the main thread's decompressing, validating and hashing of the entries
 * that follow. `done()` resolves once all is on disk, or rejects with the first failure as the fs
 * call threw it (code, syscall and path kept, for the one-line message).
 */
export class FileWriter {
  private readonly worker = new Worker(WORKER_SOURCE, {eval: true, resourceLimits: {maxYoungGenerationSizeMb: 2}});
  private batch: Op[] = [];
  private batchBytes = 0;
  private inFlight = 0;
  private failure?: Error;
  private wake?: () => void;

  constructor() {
    this.worker.on('message', (failed: Failure | null) => {
      this.inFlight--;
      if (failed && !this.failure) this.failure = Object.assign(new Error(failed.message), {code: failed.code, syscall: failed.syscall, path: failed.path});
      this.wake?.();
    });
    this.worker.on('error', (e: Error) => {
      this.failure ??= e;
      this.wake?.();
    });
    // Referenced only while waited for: a writer nobody stopped never keeps the process alive.
    this.worker.unref();
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.push({kind: 'dir', path, mode}, 0);
  }

  async symlink(target: string, path: string): Promise<void> {
    await this.push({kind: 'symlink', path, target}, 0);
  }

  async writeFile(path: string, data: Uint8Array, mode: number): Promise<void> {
    await this.push({kind: 'file', path, mode, data}, data.length);
  }

  /** Everything is on disk; the thread is stopped either way. */
  async done(): Promise<void> {
    try {
      this.post();
      await this.settle(0);
    } finally {
      await this.close();
    }
  }

  /** Stops the thread; what was not written yet is dropped (the caller removes the dir). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private async push(op: Op, bytes: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.batch.push(op);
    this.batchBytes += bytes;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_OPS) {
      this.post();
      await this.settle(MAX_IN_FLIGHT - 1);
    }
  }

  private post(): void {
    if (this.batch.length === 0) return;
    this.worker.postMessage(this.batch);
    this.inFlight++;
    this.batch = [];
    this.batchBytes = 0;
  }

  /** Waits until at most `limit` batches are in flight; throws the writer's first failure. */
  private async settle(limit: number): Promise<void> {
    while (this.inFlight > limit && !this.failure) {
      this.worker.ref();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.worker.unref();
    }
    if (this.failure) throw this.failure;
  }
}
