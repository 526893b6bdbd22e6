# shellcheck shell=bash
# lab.sh: the mgate network-namespace lab, a bash library to source (on the host or
# inside tests/vm/vm-run's VM). Needs root and iproute2.
#
#     device ------------------- gw ------------------- corp
#     gw0: 192.0.2.2/24          dev0: 192.0.2.1/24
#          2001:db8:1::2/64            2001:db8:1::1/64
#                                corp0: 203.0.113.1/24  gw0: 203.0.113.10/24
#                                       2001:db8:2::1/64     2001:db8:2::10/64
#   (lab_add_device_link)
#     gw1: 198.51.100.2/24       dev1: 198.51.100.1/24
#          2001:db8:3::2/64            2001:db8:3::1/64
#   (lab_add_corp_subnet: a second corporate subnet behind corp, routed by gw)
#                                                       corp1: 198.19.2.10/24
#
#   device pool (virtual IPs): 198.18.0.0/24, 2001:db8:100::/64
#
# Only documentation/benchmark ranges are used, so nothing can leak to a real network.
# Routes: device: default via gw (192.0.2.1 / 2001:db8:1::1); corp: the pool and the
# device-side links via gw (203.0.113.1 / 2001:db8:2::1); gw forwards (IPv4 and IPv6).
# gw has NO route for the pool: whoever programs the tunnel adds one (or call
# lab_gw_route_pool), so that without a tunnel no cleartext pool traffic gets through.
#
# Functions:
#   lab_up [PREFIX]            create ${PREFIX}device, ${PREFIX}gw, ${PREFIX}corp (default
#                              prefix "mg-"); fails if they exist already
#   lab_down [PREFIX]          kill what runs in them and delete them (idempotent)
#   lab_cleanup_on_exit [PREFIX]  run lab_down on EXIT/INT/TERM (keeps an existing EXIT trap)
#   lab_add_device_link [PREFIX]  second device<->gw link (198.51.100.0/24, for MOBIKE)
#   lab_add_corp_subnet [PREFIX]  second corporate subnet 198.19.2.0/24 (a dummy
#                              interface in corp), routed by gw via corp
#   lab_gw_route_pool [PREFIX] route the pool from gw to the device (cleartext!)
#   lab_exec ROLE CMD...       run CMD in ${PREFIX}ROLE (ROLE: device, gw, corp)
#   lab_device/lab_gw/lab_corp CMD...   shorthands for lab_exec
#   lab_ns ROLE                print the namespace name of ROLE
#
# Variables (set when this file is sourced; tests must not hardcode addresses):
#   LAB_DEVICE_IP LAB_GW_IP LAB_DEVICE_IP6 LAB_GW_IP6 LAB_LINK_NET LAB_LINK_NET6
#   LAB_GW_CORP_IP LAB_CORP_IP LAB_GW_CORP_IP6 LAB_CORP_IP6 LAB_CORP_NET LAB_CORP_NET6
#   LAB_DEVICE_IP2 LAB_GW_IP2 LAB_DEVICE_IP2_6 LAB_GW_IP2_6 LAB_LINK2_NET LAB_LINK2_NET6
#   LAB_POOL LAB_POOL6 LAB_POOL_FIRST LAB_POOL6_FIRST LAB_CORP2_NET LAB_CORP2_IP
#   LAB_DEVICE_IF LAB_GW_DEVICE_IF LAB_GW_CORP_IF LAB_CORP_IF LAB_DEVICE_IF2 LAB_GW_DEVICE_IF2
#   LAB_PREFIX, LAB_NS_DEVICE LAB_NS_GW LAB_NS_CORP (for the prefix of the last lab_up,
#   or the default prefix)

export LAB_DEFAULT_PREFIX=mg-

# device <-> gw
export LAB_LINK_NET=192.0.2.0/24 LAB_LINK_NET6=2001:db8:1::/64
export LAB_DEVICE_IP=192.0.2.2 LAB_GW_IP=192.0.2.1
export LAB_DEVICE_IP6=2001:db8:1::2 LAB_GW_IP6=2001:db8:1::1
# gw <-> corp
export LAB_CORP_NET=203.0.113.0/24 LAB_CORP_NET6=2001:db8:2::/64
export LAB_GW_CORP_IP=203.0.113.1 LAB_CORP_IP=203.0.113.10
export LAB_GW_CORP_IP6=2001:db8:2::1 LAB_CORP_IP6=2001:db8:2::10
# second device <-> gw link (lab_add_device_link)
export LAB_LINK2_NET=198.51.100.0/24 LAB_LINK2_NET6=2001:db8:3::/64
export LAB_DEVICE_IP2=198.51.100.2 LAB_GW_IP2=198.51.100.1
export LAB_DEVICE_IP2_6=2001:db8:3::2 LAB_GW_IP2_6=2001:db8:3::1
# second corporate subnet (lab_add_corp_subnet), from the benchmark range
export LAB_CORP2_NET=198.19.2.0/24 LAB_CORP2_IP=198.19.2.10 LAB_CORP2_IF=corp1
# virtual IP pool handed to devices
export LAB_POOL=198.18.0.0/24 LAB_POOL6=2001:db8:100::/64
export LAB_POOL_FIRST=198.18.0.2 LAB_POOL6_FIRST=2001:db8:100::2
# interface names (inside the namespaces, so they need no prefix)
export LAB_DEVICE_IF=gw0 LAB_GW_DEVICE_IF=dev0 LAB_GW_CORP_IF=corp0 LAB_CORP_IF=gw0
export LAB_DEVICE_IF2=gw1 LAB_GW_DEVICE_IF2=dev1

_lab_set_prefix() {
  LAB_PREFIX=${1-$LAB_DEFAULT_PREFIX}
  LAB_NS_DEVICE=${LAB_PREFIX}device
  LAB_NS_GW=${LAB_PREFIX}gw
  LAB_NS_CORP=${LAB_PREFIX}corp
  export LAB_PREFIX LAB_NS_DEVICE LAB_NS_GW LAB_NS_CORP
}
_lab_set_prefix "${LAB_PREFIX-$LAB_DEFAULT_PREFIX}"

_lab_err() { printf 'lab: %s\n' "$*" >&2; }

lab_ns() {  # lab_ns ROLE
  case $1 in
    device) printf '%s\n' "$LAB_NS_DEVICE" ;;
    gw) printf '%s\n' "$LAB_NS_GW" ;;
    corp) printf '%s\n' "$LAB_NS_CORP" ;;
    *) _lab_err "unknown role '$1' (device, gw, corp)"; return 2 ;;
  esac
}

lab_exec() {  # lab_exec ROLE CMD...
  local ns
  ns=$(lab_ns "$1") || return 2
  shift
  ip netns exec "$ns" "$@"
}
lab_device() { ip netns exec "$LAB_NS_DEVICE" "$@"; }
lab_gw() { ip netns exec "$LAB_NS_GW" "$@"; }
lab_corp() { ip netns exec "$LAB_NS_CORP" "$@"; }

_lab_ns_exists() { [[ -e /run/netns/$1 ]]; }

# Run a list of `ip` commands (one per argument) in namespace $1 with one `ip -batch`
# process (each process start costs ~0.1 s under the VM's TCG emulation).
_lab_ip() {
  local ns=$1
  shift
  if ! printf '%s\n' "$@" | ip -n "$ns" -batch -; then
    _lab_err "in $ns: one of these ip commands failed:"
    printf '  ip %s\n' "$@" >&2
    return 1
  fi
}

_lab_sysctl() {  # _lab_sysctl NS KEY=VALUE... (one process per namespace)
  local ns=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner shell
  ip netns exec "$ns" sh -c '
    for kv; do
      echo "${kv#*=}" > "/proc/sys/${kv%%=*}" || { echo "lab: in '"$ns"': sysctl $kv failed" >&2; exit 1; }
    done' sh "$@"
}

# Common per-namespace settings: loopback up, no router advertisements or DAD delays,
# no reverse-path filter (it would drop decapsulated tunnel traffic in some setups).
_lab_ns_base() {
  local ns=$1
  ip -n "$ns" link set lo up || return 1
  _lab_sysctl "$ns" \
    net/ipv4/conf/all/rp_filter=0 net/ipv4/conf/default/rp_filter=0 \
    net/ipv6/conf/all/accept_ra=0 net/ipv6/conf/default/accept_ra=0 \
    net/ipv6/conf/all/accept_dad=0 net/ipv6/conf/default/accept_dad=0
}

lab_up() {  # lab_up [PREFIX]
  _lab_set_prefix "${1-$LAB_DEFAULT_PREFIX}"
  local ns
  if [[ $(id -u) != 0 ]]; then
    _lab_err "lab_up needs root (network namespaces)"
    return 1
  fi
  command -v ip >/dev/null || { _lab_err "ip not found: apt-get install iproute2"; return 1; }
  for ns in "$LAB_NS_DEVICE" "$LAB_NS_GW" "$LAB_NS_CORP"; do
    if _lab_ns_exists "$ns"; then
      _lab_err "namespace $ns exists already (lab_down ${LAB_PREFIX@Q} first, or use another prefix)"
      return 1
    fi
  done
  for ns in "$LAB_NS_DEVICE" "$LAB_NS_GW" "$LAB_NS_CORP"; do
    ip netns add "$ns" || { _lab_err "ip netns add $ns failed"; lab_down "$LAB_PREFIX"; return 1; }
    _lab_ns_base "$ns" || { lab_down "$LAB_PREFIX"; return 1; }
  done
  # Both ends of each veth are created directly inside their namespaces: no names in
  # the caller's namespace, so concurrent labs with other prefixes never collide.
  if ! ip link add "$LAB_DEVICE_IF" netns "$LAB_NS_DEVICE" type veth \
         peer name "$LAB_GW_DEVICE_IF" netns "$LAB_NS_GW" ||
     ! ip link add "$LAB_GW_CORP_IF" netns "$LAB_NS_GW" type veth \
         peer name "$LAB_CORP_IF" netns "$LAB_NS_CORP"; then
    _lab_err "creating the veth links failed (is the veth module available?)"
    lab_down "$LAB_PREFIX"
    return 1
  fi
  if ! { _lab_sysctl "$LAB_NS_GW" net/ipv4/ip_forward=1 net/ipv6/conf/all/forwarding=1 &&
    _lab_ip "$LAB_NS_DEVICE" \
      "addr add $LAB_DEVICE_IP/24 dev $LAB_DEVICE_IF" \
      "addr add $LAB_DEVICE_IP6/64 dev $LAB_DEVICE_IF nodad" \
      "link set $LAB_DEVICE_IF up" \
      "route add default via $LAB_GW_IP dev $LAB_DEVICE_IF" \
      "route add default via $LAB_GW_IP6 dev $LAB_DEVICE_IF" &&
    _lab_ip "$LAB_NS_GW" \
      "addr add $LAB_GW_IP/24 dev $LAB_GW_DEVICE_IF" \
      "addr add $LAB_GW_IP6/64 dev $LAB_GW_DEVICE_IF nodad" \
      "link set $LAB_GW_DEVICE_IF up" \
      "addr add $LAB_GW_CORP_IP/24 dev $LAB_GW_CORP_IF" \
      "addr add $LAB_GW_CORP_IP6/64 dev $LAB_GW_CORP_IF nodad" \
      "link set $LAB_GW_CORP_IF up" &&
    _lab_ip "$LAB_NS_CORP" \
      "addr add $LAB_CORP_IP/24 dev $LAB_CORP_IF" \
      "addr add $LAB_CORP_IP6/64 dev $LAB_CORP_IF nodad" \
      "link set $LAB_CORP_IF up" \
      "route add $LAB_POOL via $LAB_GW_CORP_IP dev $LAB_CORP_IF" \
      "route add $LAB_POOL6 via $LAB_GW_CORP_IP6 dev $LAB_CORP_IF" \
      "route add $LAB_LINK_NET via $LAB_GW_CORP_IP dev $LAB_CORP_IF" \
      "route add $LAB_LINK_NET6 via $LAB_GW_CORP_IP6 dev $LAB_CORP_IF" \
      "route add $LAB_LINK2_NET via $LAB_GW_CORP_IP dev $LAB_CORP_IF" \
      "route add $LAB_LINK2_NET6 via $LAB_GW_CORP_IP6 dev $LAB_CORP_IF"; }; then
    lab_down "$LAB_PREFIX"
    return 1
  fi
}

lab_add_device_link() {  # lab_add_device_link [PREFIX]
  _lab_set_prefix "${1-$LAB_PREFIX}"
  if ! ip link add "$LAB_DEVICE_IF2" netns "$LAB_NS_DEVICE" type veth \
         peer name "$LAB_GW_DEVICE_IF2" netns "$LAB_NS_GW"; then
    _lab_err "creating the second device link failed (lab_up first?)"
    return 1
  fi
  # The second path is a fallback: its default route has a higher metric, so it takes
  # over when the first link (gw0) goes down.
  _lab_ip "$LAB_NS_DEVICE" \
    "addr add $LAB_DEVICE_IP2/24 dev $LAB_DEVICE_IF2" \
    "addr add $LAB_DEVICE_IP2_6/64 dev $LAB_DEVICE_IF2 nodad" \
    "link set $LAB_DEVICE_IF2 up" \
    "route add default via $LAB_GW_IP2 dev $LAB_DEVICE_IF2 metric 200" \
    "route add default via $LAB_GW_IP2_6 dev $LAB_DEVICE_IF2 metric 200" &&
  _lab_ip "$LAB_NS_GW" \
    "addr add $LAB_GW_IP2/24 dev $LAB_GW_DEVICE_IF2" \
    "addr add $LAB_GW_IP2_6/64 dev $LAB_GW_DEVICE_IF2 nodad" \
    "link set $LAB_GW_DEVICE_IF2 up"
}

lab_add_corp_subnet() {  # lab_add_corp_subnet [PREFIX]
  _lab_set_prefix "${1-$LAB_PREFIX}"
  # A subnet that is not the corp link itself: gw reaches it only through its
  # route, as a real corporate network behind a router.
  _lab_ip "$LAB_NS_CORP" \
    "link add $LAB_CORP2_IF type dummy" \
    "addr add $LAB_CORP2_IP/24 dev $LAB_CORP2_IF" \
    "link set $LAB_CORP2_IF up" &&
  _lab_ip "$LAB_NS_GW" "route add $LAB_CORP2_NET via $LAB_CORP_IP dev $LAB_GW_CORP_IF"
}

lab_gw_route_pool() {  # lab_gw_route_pool [PREFIX]: pool -> device over the first link
  _lab_set_prefix "${1-$LAB_PREFIX}"
  _lab_ip "$LAB_NS_GW" \
    "route replace $LAB_POOL via $LAB_DEVICE_IP dev $LAB_GW_DEVICE_IF" \
    "route replace $LAB_POOL6 via $LAB_DEVICE_IP6 dev $LAB_GW_DEVICE_IF"
}

# Kill every process still running inside namespace $1 (TERM, then KILL after ~2 s).
_lab_kill_ns_pids() {
  local ns=$1 pids i
  pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  for ((i = 0; i < 20; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [[ -n $pids ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  return 0
}

lab_down() {  # lab_down [PREFIX]: idempotent
  local prefix=${1-${LAB_PREFIX-$LAB_DEFAULT_PREFIX}} role ns
  for role in device gw corp; do
    ns=$prefix$role
    _lab_ns_exists "$ns" || continue
    _lab_kill_ns_pids "$ns"
    ip netns del "$ns" 2>/dev/null || _lab_err "ip netns del $ns failed"
  done
  return 0
}

lab_cleanup_on_exit() {  # lab_cleanup_on_exit [PREFIX]
  local prefix=${1-$LAB_PREFIX} cur prev=
  # Keep whatever EXIT trap the caller set, and run lab_down after it. `trap -p`
  # prints a quoted `trap -- 'CMD' EXIT`; let the shell undo its own quoting.
  cur=$(trap -p EXIT)
  if [[ -n $cur ]]; then
    eval "set -- $cur"
    prev=$3
  fi
  # shellcheck disable=SC2064
  trap "${prev:+$prev; }lab_down ${prefix@Q}" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}
