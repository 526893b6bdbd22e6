#!/bin/sh
# Runs a command in a private, anonymous network namespace that disappears
# with it (nothing to clean up, nothing shared with the host's XFRM state).
# Loopback gets IPsec policy processing back (the kernel exempts lo by
# default) so tests can send real packets against their policies.
# Exit 77 (skip) when namespaces cannot be made here.
set -u
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: creating a network namespace needs root" >&2
	exit 77
fi
if ! unshare -n true 2>/dev/null; then
	echo "SKIP: unshare -n is not permitted here" >&2
	exit 77
fi
exec unshare -n sh -c '
	ip link set lo up || exit 1
	sysctl -qw net.ipv4.conf.lo.disable_xfrm=0 net.ipv4.conf.lo.disable_policy=0 || exit 1
	exec "$@"' netns-run "$@"
