// The tc target's view: every decision about tc/s2sgw.tc (per-connection rate limits) is made here; the template only prints.
//
// Per XFRM interface (one per connection), the connection's `rate` (txKbps, rxKbps: 5,120 each
// unless the gateway or the connection says otherwise, see effective()):
// - egress shaping at txKbps with a TBF root qdisc. `qdisc replace` of a TBF changes it in place
//   (an HTB root cannot be replaced that way), so re-running the file is how a change is applied.
// - ingress policing at rxKbps: the ingress qdisc (replace keeps it and its filters) and one
//   catch-all filter with a police action that drops what exceeds the rate. The filter is u32
//   `match u32 0 0` under a fixed pref and handle, not matchall: matchall refuses a second filter
//   on the same device (`filter replace` fails with "File exists" on a re-run) while u32 replaces
//   the filter with that handle in place. Same police action, so the measured rates hold.
// Every line names its device with a fixed handle, so running the whole file twice gives the same
// state, and `tc -batch` (which stops at the first error) never meets an "exists" error.
//
// Burst and latency:
// - TBF burst: 10 ms of traffic at the rate, at least 16,000 bytes (about ten full-size packets).
//   The kernel refills the bucket on timer ticks (4 ms at HZ=250), so a bucket smaller than a
//   few ticks of traffic, or than one packet, would hold the rate below what was asked.
// - TBF latency 50 ms: the longest a packet may wait in the shaper's queue; the queue holds
//   rate x 50 ms + burst, enough for TCP to keep the link busy without bufferbloat.
// - police burst: 100 ms of traffic at the rate, at least 64 KiB, and `mtu 64 KiB`. A policer has
//   no queue, so TCP through it needs a bucket of about one round trip of data to reach the rate;
//   and it drops outright any packet larger than its bucket or mtu (tc's default mtu is 2 KB), while
//   GRO can hand the ingress hook packets of up to 64 KiB.
import { effective } from '../../model/model';
import type { Place } from '../../model/diagnostics';
import { at } from '../../model/model';
import type { TargetInput } from '../target';
import type { Tenant } from '../../model/model';

export const MIN_BURST_BYTES = 16000;
/** The largest packet GRO hands the ingress hook: the policer's bucket and mtu must hold it. */
export const MAX_PACKET_BYTES = 65536;
export const TBF_LATENCY = '50ms';
/** Fixed handles: the same names on every run make every line a replace. */
export const HANDLES = { root: '1:', ingress: 'ffff:', pref: 1, filter: '800::800' } as const;

export interface LimitView {
  tenant: string;
  dev: string;
  txKbps: number;
  rxKbps: number;
  /** Bytes. */
  txBurst: number;
  rxBurst: number;
  rxMtu: number;
  latency: string;
  handles: typeof HANDLES;
  /** "tenants/contoso.yaml:11": where the connection is. */
  from: string;
  place: Place;
}

export interface TenantView {
  name: string;
  file: string;
  limits: LimitView[];
}

/** Bytes of `ms` milliseconds at `kbps` kbit/s (1 kbit = 1,000 bit, as tc reads `kbit`), at least `min`. */
export function burstBytes(kbps: number, ms: number, min: number): number {
  return Math.max(min, Math.ceil((kbps * ms) / 8));
}

function dev(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`interface name ${JSON.stringify(name)} cannot reach tc`);
  return name;
}

function rate(kbps: number): number {
  if (!Number.isInteger(kbps) || kbps < 1) throw new Error(`rate ${kbps} kbit/s is not a positive integer`);
  return kbps;
}

/** One tenant's rate limits, a connection at a time in the tenant file's order. Pure. */
export function tenantView(input: TargetInput, t: Tenant): TenantView {
  return {
    name: t.name,
    file: t.file,
    limits: t.connections.map((c) => {
      const r = effective(c, input.gateway).rate;
      const place = at(input.model, c.origin, 'interface');
      return {
        tenant: t.name,
        dev: dev(c.interface),
        txKbps: rate(r.txKbps),
        rxKbps: rate(r.rxKbps),
        txBurst: burstBytes(r.txKbps, 10, MIN_BURST_BYTES),
        rxBurst: burstBytes(r.rxKbps, 100, MAX_PACKET_BYTES),
        rxMtu: MAX_PACKET_BYTES,
        latency: TBF_LATENCY,
        handles: HANDLES,
        from: `${place.file}:${place.line}`,
        place: { file: place.file, line: place.line, col: place.col },
      };
    }),
  };
}
