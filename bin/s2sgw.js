#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// glibc.malloc.hugetlb=1: malloc asks for transparent huge pages (madvise) for its big blocks, where node keeps file
// bytes. apply at 10,000 tenants reads 60-100 MB of files; touching that memory the first time cost about 7 ms a MB
// of page faults on a loaded 2-core VM (64 MB: 390-430 ms; with the tunable 87 ms), and the whole one-tenant apply
// fell from 5.7 to 4.4 s (docs/apply.md). glibc before 2.35 and other C libraries ignore it.
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
require('../dist/src/cli.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
