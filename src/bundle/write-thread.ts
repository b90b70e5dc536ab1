// Writing files on a worker thread while the main thread goes on (build renders the next file as the last is written).
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import * as fs from 'node:fs';

/**
 * The worker: writes each file it is sent (writeFileSync with its mode, then chmod: the umask does not apply), counts it
 * in `state[0]` and wakes the waiting main thread; a failure is sent back on the port and flagged in `state[1]`, and the
 * files after it are not written. A string (not a file of dist/): esbuild's single executable has no files beside it.
 */
const WORKER = `'use strict';
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { state, errors, port } = workerData;
port.on('message', (batch) => {
  for (const [file, data, mode] of batch) {
    if (Atomics.load(state, 1) === 0) {
      try {
        fs.writeFileSync(file, data, { mode });
        fs.chmodSync(file, mode);
      } catch (e) {
        errors.postMessage({ message: String(e && e.message), code: e && e.code, syscall: e && e.syscall, path: e && e.path, errno: e && e.errno });
        Atomics.store(state, 1, 1);
      }
    }
    Atomics.add(state, 0, 1);
  }
  Atomics.notify(state, 0);
});
`;

/** A text this long (UTF-16 units) or longer is written in line (see WriteThread.write). */
const LARGE = 1 << 20;

/** How long drain() waits without any file written before it takes the worker for dead. */
const STALL_MS = 120_000;

/**
 * Files written on a worker thread (small ones: see write()), each file's folder made before it is given. The
 * main thread posts a file's text and goes on; drain() waits until every file given is on disk (and throws the first
 * write's failure), so a tree is renamed into place only once whole. Files are sent in batches (`batchBytes`), and at
 * most `maxPending` wait to be written (the texts in flight, not a whole bundle's, at 10,000 tenants). A
 * writer that has been given fewer than `inline` files writes them itself: a small bundle is not worth a thread.
 *
 * Why: creating a file on ext4 costs about 0.2 ms of system time (2,000 files a 1,000-tenant build); on its own
 * thread that time overlaps the rendering of the files after it (docs/architecture.md, "The cold build's own costs cut").
 */
export class WriteThread {
  private worker?: Worker;
  private port?: MessagePort;
  private errors?: MessagePort;
  private state?: Int32Array;
  private failure?: Error;
  /** Files sent to the worker; the sizes (UTF-16 units or bytes) of those sent, from file number `first` on. */
  private posted = 0;
  private first = 0;
  private sizes: number[] = [];
  /** Files known written (acked), and the size of those sent and not yet known written. */
  private acked = 0;
  private pendingSize = 0;
  private batch: Array<[string, string, number]> = [];
  private batchSize = 0;
  private given = 0;

  /**
   * `inline`: how many files are written here before the worker starts; `maxPending`: how much may wait to be written
   * (UTF-16 units or bytes; a larger file goes alone); `batchBytes`: how much is sent to the worker at once.
   */
  constructor(
    private inline = 64,
    private readonly maxPending = 8 << 20,
    private readonly batchBytes = 256 << 10,
  ) {}

  /**
   * Writes `data` to `file` (a new file; its folder exists), now or on the worker; a failure is thrown here or by
   * drain(). A large file (bytes given, or a text of LARGE units) is written here: what costs is its bytes, not its
   * create, and a copy on the worker's heap (or a buffer moved there, freed only when its heap is collected) added
   * 60 MB to a 10,000-tenant build's peak RSS.
   */
  write(file: string, data: string | Buffer, mode: number): void {
    if (this.given++ < this.inline || typeof data !== 'string' || data.length >= LARGE || !this.start()) {
      fs.writeFileSync(file, data, { mode });
      fs.chmodSync(file, mode);
      return;
    }
    this.check();
    this.batch.push([file, data, mode]);
    this.batchSize += data.length;
    if (this.batchSize >= this.batchBytes) this.flush();
  }

  /** Waits until every file given is written; throws the first failure (an fs error's message and code). */
  drain(): void {
    this.flush();
    while (this.worker && this.acked < this.posted && !this.failed()) this.waitFor(this.posted);
    this.check();
  }

  /** Stops the worker (after drain(), or to give up: files still queued may be written or not). */
  close(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    this.inline = Infinity;
    this.port!.close();
    this.errors!.close();
    void w.terminate();
  }

  /** Starts the worker unless it runs; false if it cannot (the files are then written here). */
  private start(): boolean {
    if (this.worker) return true;
    if (this.inline === Infinity) return false;
    try {
      this.state = new Int32Array(new SharedArrayBuffer(8));
      const work = new MessageChannel();
      const errors = new MessageChannel();
      this.worker = new Worker(WORKER, { eval: true, workerData: { state: this.state, errors: errors.port2, port: work.port2 }, transferList: [errors.port2, work.port2], stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 2 } });
      this.port = work.port1;
      this.errors = errors.port1;
    } catch {
      this.inline = Infinity;
      return false;
    }
    // A crash of the worker itself (not a write's failure, which it reports) shows as drain() waiting in vain: see STALL_MS.
    this.worker.on('error', () => {});
    // Neither keeps the process alive: a command that returns without close() still exits.
    this.worker.unref();
    this.port.unref();
    this.errors.unref();
    return true;
  }

  /** Sends the batch, first waiting while more than maxPending would be queued. */
  private flush(): void {
    if (!this.batch.length || !this.worker) return;
    while (this.pendingSize > 0 && this.pendingSize + this.batchSize > this.maxPending && !this.failed()) this.waitFor(this.acked + 1);
    this.check();
    for (const [, d] of this.batch) this.sizes.push(d.length);
    this.port!.postMessage(this.batch);
    this.posted += this.batch.length;
    this.pendingSize += this.batchSize;
    this.batch = [];
    this.batchSize = 0;
  }

  /** Blocks until at least `count` files are written or one failed, and counts those written. */
  private waitFor(count: number): void {
    const state = this.state!;
    for (;;) {
      const done = Atomics.load(state, 0);
      this.ack(done);
      if (done >= count || this.failed()) return;
      if (Atomics.wait(state, 0, done, STALL_MS) === 'timed-out' && Atomics.load(state, 0) === done) {
        this.failure = new Error(`the file-writing thread wrote nothing for ${STALL_MS / 1000} s (${this.posted - done} files left)`);
        throw this.failure;
      }
    }
  }

  private ack(done: number): void {
    for (; this.acked < done; this.acked++) this.pendingSize -= this.sizes[this.acked - this.first];
    // Written files' sizes are dropped now and then, not shifted off one by one.
    if (this.acked - this.first > 4096) {
      this.sizes = this.sizes.slice(this.acked - this.first);
      this.first = this.acked;
    }
  }

  private failed(): boolean {
    return this.failure !== undefined || (this.state !== undefined && Atomics.load(this.state, 1) !== 0);
  }

  /** Throws the first failure, if any (again at every later call: nothing given after it is written). */
  private check(): void {
    if (!this.failed()) return;
    if (!this.failure) {
      const got = receiveMessageOnPort(this.errors!)?.message as { message: string; code?: string; syscall?: string; path?: string; errno?: number } | undefined;
      this.failure = Object.assign(new Error(got?.message ?? 'writing a file failed'), got?.code ? { code: got.code, syscall: got.syscall, path: got.path, errno: got.errno } : {});
    }
    throw this.failure;
  }
}
