#!/bin/sh
# /usr/bin/s2sgw (docs/packaging.md): runs the s2sgw executable, lib/s2sgw/s2sgw beside this bin/ folder (a Node.js
# single executable, which cannot set its own C library's tunables), with glibc's malloc asking for transparent huge
# pages for its big blocks, where node keeps the files apply reads (docs/apply.md: a one-tenant add at 10,000
# tenants ran 23 % faster with it). A GLIBC_TUNABLES that names glibc.malloc.hugetlb already is left as it is.
case ":${GLIBC_TUNABLES-}:" in
  *:glibc.malloc.hugetlb=*) ;;
  *) GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1"; export GLIBC_TUNABLES ;;
esac
# By its absolute path first: the lab runs it with PATH=/nonexistent to prove it needs no node.
self=$(/bin/readlink -f -- "$0" 2>/dev/null || readlink -f -- "$0" 2>/dev/null) || self=$0
exec "${self%/bin/*}/lib/s2sgw/s2sgw" "$@"
