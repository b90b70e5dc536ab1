// Every bench, in the order a full run prints them; add a bench by adding its file here (plan and apply are slots).
import type { Bench } from './bench';
import { bench as validate } from './validate';
import { bench as build } from './build';
import { bench as nft } from './nft';
import { bench as profile } from './profile';
import { bench as breakdown } from './breakdown';
import { bench as plan } from './plan';
import { bench as apply } from './apply';
import { bench as diagnostics } from './diagnostics';
import { bench as cache } from './cache';

export const BENCHES: Bench[] = [validate, build, nft, profile, breakdown, plan, apply, diagnostics, cache];
