import {Worker} from 'node:worker_threads';

/** One file-system step, done in order by the writer thread; a file's bytes are at [at, at+size) of its batch's buffer. */
type Op =
  | {kind: 'dir'; path: string; mode: number}
  | {kind: 'symlink'; path: string; target: string}
  | {kind: 'file'; path: string; mode: number; at: number; size: number};

interface Failure {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/** What goes back from the writer: its first failure, if any, and the batch's buffer for reuse. */
interface Reply {
  failed: Failure | null;
  buffer: ArrayBuffer;
}

/**
 * The writer thread's code, evaluated as a CommonJS script: plain JS, so it runs the same from
 * `dist/` and under tsx, and loads nothing native (stopping it is always safe). Synchronous calls:
 * one thread making three syscalls per small file beats the thread pool's hand-offs (4x on the 6.12
 * tree). 'wx' is O_CREAT|O_EXCL, which never follows a symlink planted at the name. After a failure
 * every later batch is refused. The buffer is transferred back, so no file's bytes wait for a GC.
 */
const WORKER_SOURCE = `
const {parentPort} = require('node:worker_threads');
const fs = require('node:fs');
let failed = null;
parentPort.on('message', ({ops, buffer}) => {
  if (!failed) {
    const bytes = new Uint8Array(buffer);
    try {
      for (const op of ops) {
        if (op.kind === 'dir') fs.mkdirSync(op.path, {mode: op.mode});
        else if (op.kind === 'symlink') fs.symlinkSync(op.target, op.path);
        else fs.writeFileSync(op.path, bytes.subarray(op.at, op.at + op.size), {flag: 'wx', mode: op.mode});
      }
    } catch (e) {
      failed = {message: e.message, code: e.code, syscall: e.syscall, path: e.path};
    }
  }
  parentPort.postMessage({failed, buffer}, [buffer]);
});
`;

const BATCH_BYTES = 256 * 1024;
const BATCH_OPS = 128;
/**
 * Batch buffers in all: one being filled, the rest in flight. They circulate (transferred, not
 * copied), so what a slow disk makes us hold stays at about a MB and the writer allocates nothing.
 */
const BUFFERS = 4;

/**
 * Creates dirs, files and symlinks on a second thread, in the order given. Installing is mostly
 * file creation in the kernel (~280 us per file on a small VM: 2 s for the 6.12 tree); on its own
 * thread it overlaps with the main thread's decompressing, validating and hashing of the entries
 * that follow. `done()` resolves once all is on disk, or rejects with the first failure as the fs
 * call threw it (code, syscall and path kept, for the one-line message).
 */
export class FileWriter {
  private readonly worker = new Worker(WORKER_SOURCE, {eval: true, resourceLimits: {maxYoungGenerationSizeMb: 2}});
  private readonly pool: ArrayBuffer[] = [];
  private allocated = 0;
  private ops: Op[] = [];
  private bytes?: Uint8Array;
  private used = 0;
  private inFlight = 0;
  private failure?: Error;
  private wake?: () => void;

  constructor() {
    this.worker.on('message', ({failed, buffer}: Reply) => {
      this.inFlight--;
      // One-off buffers of large files are dropped.
      if (buffer.byteLength === BATCH_BYTES) this.pool.push(buffer);
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
    await this.push({kind: 'dir', path, mode});
  }

  async symlink(target: string, path: string): Promise<void> {
    await this.push({kind: 'symlink', path, target});
  }

  async writeFile(path: string, data: Uint8Array, mode: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (data.length > BATCH_BYTES) {
      // Larger than a batch: sent alone, in a buffer of its own.
      await this.flush();
      await this.settle(() => this.inFlight < BUFFERS);
      const own = new Uint8Array(data.length);
      own.set(data);
      this.post([{kind: 'file', path, mode, at: 0, size: data.length}], own.buffer);
      return;
    }
    if (this.used + data.length > BATCH_BYTES) await this.flush();
    const bytes = await this.buffer();
    bytes.set(data, this.used);
    await this.push({kind: 'file', path, mode, at: this.used, size: data.length}, data.length);
  }

  /** Everything is on disk; the thread is stopped either way. */
  async done(): Promise<void> {
    try {
      await this.flush();
      await this.settle(() => this.inFlight === 0);
    } finally {
      await this.close();
    }
  }

  /** Stops the thread; what was not written yet is dropped (the caller removes the dir). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private async push(op: Op, bytes = 0): Promise<void> {
    if (this.failure) throw this.failure;
    this.ops.push(op);
    this.used += bytes;
    if (this.ops.length >= BATCH_OPS) await this.flush();
  }

  /** The buffer being filled, taken from the pool (waiting for one to come back if all are out). */
  private async buffer(): Promise<Uint8Array> {
    if (this.bytes) return this.bytes;
    if (this.pool.length === 0 && this.allocated < BUFFERS) {
      this.allocated++;
      this.pool.push(new ArrayBuffer(BATCH_BYTES));
    }
    await this.settle(() => this.pool.length > 0);
    this.bytes = new Uint8Array(this.pool.pop()!);
    return this.bytes;
  }

  private async flush(): Promise<void> {
    if (this.ops.length === 0) return;
    // A batch of dirs and links only still needs a buffer to carry.
    const bytes = await this.buffer();
    this.post(this.ops, bytes.buffer as ArrayBuffer);
    this.ops = [];
    this.bytes = undefined;
    this.used = 0;
  }

  private post(ops: Op[], buffer: ArrayBuffer): void {
    this.worker.postMessage({ops, buffer}, [buffer]);
    this.inFlight++;
  }

  /** Waits until `ready()` holds; throws the writer's first failure. */
  private async settle(ready: () => boolean): Promise<void> {
    while (!ready() && !this.failure) {
      this.worker.ref();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.worker.unref();
    }
    if (this.failure) throw this.failure;
  }
}
