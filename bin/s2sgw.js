#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=131072 node
// glibc.malloc.hugetlb=1: malloc asks for transparent huge pages (madvise) for its big blocks, where node keeps file
// bytes. apply at 10,000 tenants reads 60-100 MB of files; touching that memory the first time cost about 7 ms a MB
// of page faults on a loaded 2-core VM (64 MB: 390-430 ms; with the tunable 87 ms), and the whole one-tenant apply
// fell from 5.7 to 4.4 s (docs/apply.md). glibc before 2.35 and other C libraries ignore it.
// glibc.malloc.mmap_threshold=131072 (glibc's own starting value, now fixed): every block of 128 KiB or more is its
// own mapping, given back when freed. By default glibc raises the threshold to the biggest block freed so far, and
// later big blocks (read files, Git's output, zlib's) come from the heap, whose freed space stays in the RSS:
// validate, build and plan at 10,000 tenants peaked 30-50 MB lower with it (docs/architecture.md, "Memory at
// scale"). apply's big files are 2 MB and more, mapped with huge pages either way.
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
require('../dist/src/cli.js').run(process.argv.slice(2));
