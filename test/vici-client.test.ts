// ViciClient against a scripted VICI server: ordering, streamed events, typed errors, timeouts, a dying socket and garbage never hang a call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decode,
  decodePacket,
  encode,
  encodePacket,
  Packet,
  PacketType,
  SegmentReader,
  ViciClient,
  ViciClosedError,
  ViciCommandError,
  ViciSection,
  ViciTimeoutError,
  ViciUnknownCommandError,
  ViciUnknownEventError,
  ViciProtocolError,
} from '../src/vici';

type Reply = (p: Packet, sock: net.Socket) => void;

/** A unix-socket server that hands every packet to `reply`. */
async function withServer<T>(reply: Reply, fn: (sockPath: string, seen: Packet[]) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-vici-'));
  const sockPath = path.join(dir, 's.vici');
  const seen: Packet[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('error', () => undefined);
    const r = new SegmentReader();
    c.on('data', (d) => {
      for (const s of r.push(d)) {
        const p = decodePacket(s);
        seen.push(p);
        reply(p, c);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  try {
    return await fn(sockPath, seen);
  } finally {
    for (const c of conns) c.destroy();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const send = (c: net.Socket, p: Packet): void => void c.write(encodePacket(p));
const response = (c: net.Socket, m: ViciSection): void => send(c, { type: PacketType.CMD_RESPONSE, message: encode(m) });

async function rejects<E>(p: Promise<unknown>, cls: new (...a: never[]) => E, pattern?: RegExp): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, cls, `got ${(e as Error).name}: ${(e as Error).message}`);
    if (pattern) assert.match((e as Error).message, pattern);
    return e as E;
  }
  throw new assert.Assertion({ message: `expected a ${cls.name}`, generated: false, operator: 'rejects', expects: cls.name, actual: 'resolved' });
}

test('concurrent calls go out one at a time and get their own answers', async () => {
  // The server answers each request with its name and a counter, after a delay that would reorder a pipelined client.
  let n = 0;
  let busy = false;
  let overlapped = false;
  await withServer(
    (p, c) => {
      if (busy) overlapped = true;
      busy = true;
      const m = decode(p.message!);
      setTimeout(() => {
        busy = false;
        response(c, { cmd: p.name!, echo: String(m.i), n: String(n++) });
      }, 5 - (Number(m.i) % 5));
    },
    async (sock) => {
      const v = await ViciClient.connect(sock);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => v.request(`cmd-${i}`, { i })));
      assert.equal(results.map((r) => [r.cmd, r.echo, r.n]), Array.from({ length: 20 }, (_, i) => [`cmd-${i}`, String(i), String(i)]));
      assert.not.ok(overlapped, 'a request was sent before the previous one was answered');
      await v.close();
    },
  );
});

test('streamed command: register, events until the response, unregister; other events ignored', async () => {
  await withServer(
    (p, c) => {
      if (p.type === PacketType.EVENT_REGISTER || p.type === PacketType.EVENT_UNREGISTER) return send(c, { type: PacketType.EVENT_CONFIRM });
      send(c, { type: PacketType.EVENT, name: 'list-conn', message: encode({ a: { x: '1' } }) });
      send(c, { type: PacketType.EVENT, name: 'log', message: encode({ msg: 'noise' }) });
      send(c, { type: PacketType.EVENT, name: 'list-conn', message: encode({ b: { x: '2' } }) });
      response(c, {});
    },
    async (sock, seen) => {
      const v = await ViciClient.connect(sock);
      const conns = await v.listConns();
      assert.equal(conns, [
        { name: 'a', section: { x: '1' } },
        { name: 'b', section: { x: '2' } },
      ]);
      assert.equal(
        seen.map((p) => [p.type, p.name]),
        [
          [PacketType.EVENT_REGISTER, 'list-conn'],
          [PacketType.CMD_REQUEST, 'list-conns'],
          [PacketType.EVENT_UNREGISTER, 'list-conn'],
        ],
      );
      await v.close();
    },
  );
});

test('typed errors: success = no carries errmsg, CMD_UNKNOWN, EVENT_UNKNOWN; the connection stays usable', async () => {
  await withServer(
    (p, c) => {
      if (p.type === PacketType.EVENT_REGISTER) return send(c, { type: PacketType.EVENT_UNKNOWN });
      if (p.name === 'load-conn') return response(c, { success: 'no', errmsg: 'invalid value for: proposals' });
      if (p.name === 'nope') return send(c, { type: PacketType.CMD_UNKNOWN });
      response(c, { daemon: 'fake' });
    },
    async (sock) => {
      const v = await ViciClient.connect(sock);
      const e = await rejects(v.loadConn('c', { proposals: ['bogus'] }), ViciCommandError, /invalid value for: proposals/);
      assert.is(e.errmsg, 'invalid value for: proposals');
      assert.is(e.command, 'load-conn');
      await rejects(v.request('nope'), ViciUnknownCommandError, /"nope"/);
      await rejects(v.listSas(), ViciUnknownEventError, /"list-sa"/);
      assert.is((await v.version()).daemon, 'fake');
      await v.close();
    },
  );
});

test('a call without an answer times out, closes the connection, and the queued calls reject', async () => {
  await withServer(
    () => undefined,
    async (sock) => {
      const v = await ViciClient.connect(sock, { timeoutMs: 5000 });
      const t0 = Date.now();
      const first = v.request('version', {}, { timeoutMs: 150 });
      const queued = v.request('get-conns');
      await rejects(first, ViciTimeoutError, /no answer within 150 ms/);
      await rejects(queued, ViciClosedError, /no answer within 150 ms/);
      assert.ok(Date.now() - t0 < 2000, 'the queued call waited for its own timeout');
      assert.not.ok(v.isOpen);
      await rejects(v.version(), ViciClosedError);
    },
  );
});

test('a socket that dies mid-call rejects the running and the queued calls', async () => {
  await withServer(
    (_p, c) => setTimeout(() => c.destroy(), 20),
    async (sock) => {
      const v = await ViciClient.connect(sock);
      const calls = [v.version(), v.getConns(), v.listConns()];
      for (const c of calls) await rejects(c, ViciClosedError, /closed by charon/);
    },
  );
});

test('garbage from the server closes the connection with a clear error', async () => {
  await withServer(
    (_p, c) => c.write(Buffer.from([0, 0, 0, 2, 1, 99])), // a response whose message has element type 99
    async (sock) => {
      const v = await ViciClient.connect(sock);
      // the packet layer is fine, the message is not: decode fails inside the call
      await rejects(v.version(), Error, /unknown element type 99/);
    },
  );
  await withServer(
    (_p, c) => c.write(Buffer.from([0x7f, 0, 0, 0])), // a 2 GB segment length: not VICI
    async (sock) => {
      const v = await ViciClient.connect(sock);
      await rejects(v.version(), ViciClosedError, /malformed data from charon: segment length/);
      assert.not.ok(v.isOpen);
    },
  );
  await withServer(
    (_p, c) => send(c, { type: PacketType.EVENT_CONFIRM }), // a confirmation nobody asked for
    async (sock) => {
      const v = await ViciClient.connect(sock);
      await rejects(v.version(), ViciClosedError, /unexpected EVENT_CONFIRM packet during command version/);
    },
  );
});

test('connect: a missing socket fails at once; an unencodable message fails before anything is sent', async () => {
  await rejects(ViciClient.connect('/nonexistent/dir/charon.vici', { timeoutMs: 1000 }), ViciClosedError, /cannot connect to \/nonexistent/);
  await withServer(
    (_p, c) => response(c, {}),
    async (sock, seen) => {
      const v = await ViciClient.connect(`unix://${sock}`);
      await rejects(v.request('load-conn', { c: 'x'.repeat(70000) }), ViciProtocolError, /16-bit length limit/);
      assert.is(seen.length, 0);
      assert.equal(await v.request('version'), {});
      await v.close();
      await rejects(v.version(), ViciClosedError, /closed by the client/);
    },
  );
});


test('pipeline: at most `depth` requests unanswered, answers in order (a refusal among them), a generator read as answers come', async () => {
  let outstanding = 0;
  let most = 0;
  const queue: Array<{ c: net.Socket; m: ViciSection }> = [];
  await withServer(
    (p, c) => {
      outstanding++;
      most = Math.max(most, outstanding);
      queue.push({ c, m: decode(p.message!) });
      // Answer in arrival order, a little later (as charon works through its queue).
      setTimeout(() => {
        const { c: s, m } = queue.shift()!;
        outstanding--;
        response(s, m.n === '3' ? { success: 'no', errmsg: `bad ${m.n}` } : { success: 'yes', n: m.n as string });
      }, 2);
    },
    async (sock, seen) => {
      const c = await ViciClient.connect(sock);
      let asked = 0;
      const gen = (function* () {
        for (let i = 0; i < 10; i++) {
          asked++;
          yield { cmd: 'load-conn', message: { n: String(i) } };
        }
      })();
      const out = await c.pipeline(gen, { depth: 4 });
      assert.is(most, 4, 'never more than depth in flight');
      assert.is(asked, 10);
      assert.equal(out.map((o) => o.response.n ?? o.response.errmsg), ['0', '1', '2', 'bad 3', '4', '5', '6', '7', '8', '9']);
      assert.instance(ViciClient.failure('load-conn', out[3].response), ViciCommandError);
      assert.is(ViciClient.failure('load-conn', out[4].response), undefined);
      assert.is(seen.length, 10);
      // The connection carries ordinary calls afterwards.
      assert.is((await c.request('version', { n: 'x' })).n, 'x');
      await c.close();
    },
  );
});

test('pipeline: a generator that throws has its requests in flight answered first, then the error; a silent server times out', async () => {
  await withServer(
    (p, c) => setTimeout(() => response(c, { success: 'yes' }), 5),
    async (sock) => {
      const c = await ViciClient.connect(sock);
      const gen = (function* () {
        yield { cmd: 'load-conn', message: {} };
        yield { cmd: 'load-conn', message: {} };
        throw new Error('cannot parse t3.conf');
      })();
      await rejects(c.pipeline(gen, { depth: 8 }), Error, /cannot parse t3\.conf/);
      // In step: the next call gets its own answer.
      assert.is((await c.request('version')).success, 'yes');
      await c.close();
    },
  );
  await withServer(
    () => undefined,
    async (sock) => {
      const c = await ViciClient.connect(sock);
      await rejects(c.pipeline([{ cmd: 'load-conn', message: {} }], { timeoutMs: 50 }), ViciTimeoutError, /no answer within 50 ms/);
      assert.not.ok(c.isOpen);
    },
  );
});

test.run();
