#!/bin/sh
# VM test (runs inside tests/vm/vm-run): the SA suite of the xfrm library in
# a private network namespace. Usage: vm-sa.sh PATH/TO/test_xfrm_vm
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
[ $# -eq 1 ] || { echo "usage: $0 test_xfrm_vm" >&2; exit 2; }
exec "$here/netns-run.sh" "$1"
