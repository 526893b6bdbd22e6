# shellcheck shell=bash
# strongswan.sh: run strongSwan (charon + swanctl, Debian's 5.9.8) inside the lab's
# network namespaces, one charon per instance, each with its own strongswan.conf,
# private /run, VICI socket and log. A bash library to source (needs root for
# `ip netns exec` and mounts; tests/lab/lab.sh for the LAB_* defaults).
#
# Configuration directories (CONFDIR): what an instance loads through swanctl.
#   sw_conf_new CONFDIR                      empty CONFDIR/swanctl/ (swanctl.conf, conf.d/, x509/, ...)
#   sw_conf_client CONFDIR CONN SETDIR IKE ESP [KEY=VALUE...]
#                                            a device connection CONN (child CONN) with the
#                                            certificate SETDIR/device.{crt,key} (SETDIR is
#                                            one type directory made by pki.sh, e.g. PKI/rsa)
#   sw_conf_gw CONFDIR CONN SETDIRS IKE ESP [KEY=VALUE...]
#                                            a responder connection CONN for remote access:
#                                            gateway certificate(s), trusted CA(s) and a pool
#   sw_conf_charon CONFDIR < TEXT            extra strongswan.conf settings for the instance
#                                            (CONFDIR/strongswan.local.conf, read last)
# Instances (NAME: a short word, e.g. "gw", "device"):
#   sw_start NS NAME CONFDIR     start charon in namespace NS (waits until its VICI socket
#                                answers, at most SW_START_TIMEOUT s)
#   sw_load NAME                 swanctl --load-all (credentials, pools, connections)
#   sw_initiate NAME CHILD [IKE] bring up CHILD (and its IKE SA); status of swanctl
#   sw_terminate NAME IKE        delete the IKE SA named IKE (sends DELETE, waits)
#   sw_stop NAME                 SIGTERM, then SIGKILL after SW_STOP_TIMEOUT s
#   sw_stop_all                  sw_stop every instance started by this shell
#   sw_cleanup                   sw_stop_all, then remove SW_RUNDIR_BASE (logs included)
#   sw_swanctl NAME ARGS...      any swanctl command against the instance
#   sw_list_sas NAME [IKE]       swanctl --list-sas (human readable)
#   sw_ike_count NAME [IKE]      number of IKE SAs (all, or named IKE)
#   sw_vip NAME IKE              the virtual IP(s) the instance got on IKE SA IKE
#   sw_log NAME                  print the charon log;  sw_logfile NAME: its path
#   sw_wait_log NAME ERE [SEC]   wait (bounded) until the log has a line matching ERE
#   sw_pid NAME, sw_rundir NAME  charon's pid; the run directory (log, socket, outputs)
# After sw_initiate/sw_terminate/sw_load: SW_OUT (file with swanctl's output) and
# SW_SECONDS (wall time of the swanctl command, e.g. "0.734").
#
# Knobs (environment or shell variables, read when used):
#   SW_RUNDIR_BASE   where run directories go (default /tmp/mgate-sw.<pid of the sourcing shell>)
#   SW_CHARON_PLUGINS  charon's `load =` list (default below: the minimum for certificate
#                    auth with RSA/ECDSA/Ed25519, MODP/ECP/X25519, and kernel IPsec)
#   SW_SWANCTL_PLUGINS swanctl's `load =` list (default "pem x509 openssl")
#   SW_LOGLEVEL      charon file log level (default 1; "2" for message-level detail)
#   SW_TIMEOUT       bound for initiate/terminate/load in s (default 30)
#   SW_START_TIMEOUT, SW_STOP_TIMEOUT (default 30 and 10 s)
#   SW_CHARON (/usr/lib/ipsec/charon), SW_SWANCTL (swanctl)
#
# Connection options (KEY=VALUE after the proposals):
#   client: gw=ADDR (remote_addrs, default $LAB_GW_IP)  remote_id=ID (default
#     $PKI_GW_ID or gw.mgate.test)  local_id=ID (default: the certificate's subject DN)
#     cert=BASE (SETDIR/BASE.crt + .key, default device)  ca=BASE (the CA to trust for
#     the gateway, SETDIR/BASE.crt, default ca)  remote_ts=NETS (default $LAB_CORP_NET)
#     vips=ADDRS (default 0.0.0.0)  child=NAME (default CONN)  local_addrs=ADDRS
#   gw: id=ID (default $PKI_GW_ID or gw.mgate.test)  pool=ADDRS (default $LAB_POOL or
#     198.18.0.0/24; "none" for no pool)  local_ts=NETS (default $LAB_CORP_NET)
#     local_addrs=ADDRS  cert=BASE (default gw)  ca=BASE (default ca)  dns=ADDRS
#     child=NAME (default CONN)  remote_id=ID
#   both: conn.KEY=V, local.KEY=V, remote.KEY=V, child.KEY=V (any swanctl.conf option
#     of that section, e.g. conn.mobike=no, conn.send_cert=always, child.mode=tunnel)
#
# Example (inside the VM, after lab_up and pki_gen "$pki" rsa):
#   sw_conf_new /tmp/c/gw && sw_conf_gw /tmp/c/gw rw "$pki/rsa" aes128gcm16-prfsha256-ecp256 aes128gcm16
#   sw_conf_new /tmp/c/dev && sw_conf_client /tmp/c/dev home "$pki/rsa" aes128gcm16-prfsha256-ecp256 aes128gcm16
#   sw_start "$LAB_NS_GW" gw /tmp/c/gw && sw_load gw
#   sw_start "$LAB_NS_DEVICE" dev /tmp/c/dev && sw_load dev
#   sw_initiate dev home && sw_vip dev home && sw_terminate dev home; sw_stop_all

SW_RUNDIR_BASE=${SW_RUNDIR_BASE:-/tmp/mgate-sw.$$}
# random/nonce: RNG and nonces; openssl: every IKE algorithm used here (AES, SHA2,
# HMAC, MODP, ECP, X25519, RSA, ECDSA, Ed25519); pem/x509: certificates and keys;
# kdf: the IKEv2 prf+ (mandatory in 5.9.8); kernel-netlink/socket-default: XFRM and
# IKE sockets; vici: swanctl.
SW_CHARON_PLUGINS_DEFAULT="random nonce openssl pem x509 kdf kernel-netlink socket-default vici"
SW_SWANCTL_PLUGINS_DEFAULT="pem x509 openssl"
declare -gA _SW_PIDS=()

_sw_err() { printf 'strongswan.sh: %s\n' "$*" >&2; }
# Timing without forking (every process start costs ~0.1 s under the VM's TCG).
_sw_us() { printf -v "$1" '%s' "${EPOCHREALTIME/[.,]/}"; }
_sw_secs_since() {  # _sw_secs_since T0_US: SW_SECONDS = seconds since then, e.g. 0.734
  local now d
  _sw_us now
  d=$((now - $1))
  # shellcheck disable=SC2034 # read by the caller
  printf -v SW_SECONDS '%d.%03d' $((d / 1000000)) $((d % 1000000 / 1000))
}

sw_rundir() { printf '%s/%s\n' "$SW_RUNDIR_BASE" "${1:?sw_rundir NAME}"; }
sw_logfile() { printf '%s/charon.log\n' "$(sw_rundir "$1")"; }
sw_pid() {
  local f
  f=$(sw_rundir "${1:?sw_pid NAME}")/pid
  [[ -s $f ]] && cat "$f"
}

# _sw_kv INDENT KEY VALUE: print "KEY = VALUE" for swanctl.conf/strongswan.conf, the
# value quoted unless plainly safe; nothing when VALUE is empty. No subshells.
_sw_kv() {
  local v=$3
  [[ -n $v ]] || return 0
  if [[ ! $v =~ ^[A-Za-z0-9._/:@%,+-]+$ ]]; then
    v=${v//\\/\\\\}
    v=\"${v//\"/\\\"}\"
  fi
  printf '%s%s = %s\n' "$1" "$2" "$v"
}

# _sw_copy SRC DST: copy a small text file with builtins only
_sw_copy() {
  local c=
  IFS= read -r -d '' c <"$1"
  [[ -n $c ]] || { _sw_err "cannot read $1"; return 1; }
  printf '%s' "$c" >"$2"
}

sw_conf_new() {  # sw_conf_new CONFDIR
  local dir=${1:?sw_conf_new CONFDIR}
  # every directory swanctl --load-creds scans, so that it has nothing to complain about
  rm -rf "$dir" && mkdir -p "$dir"/swanctl/{conf.d,x509,x509ca,x509ocsp,x509aa,x509ac,x509crl,pubkey,private,rsa,ecdsa,bliss,pkcs8,pkcs12} || return 1
  chmod 700 "$dir/swanctl/private"
  cat >"$dir/swanctl/swanctl.conf" <<'EOF'
# generated by tests/interop/strongswan.sh: one file per connection in conf.d/
include conf.d/*.conf
EOF
}

sw_conf_charon() {  # sw_conf_charon CONFDIR < strongswan.conf text
  cat >"${1:?sw_conf_charon CONFDIR}/strongswan.local.conf"
}

# _sw_opts KEY=VALUE...: fills the associative array _o (named options) and the
# arrays _conn _local _remote _child with key, value pairs for the raw ones.
_sw_opts() {
  local kv k v
  for kv; do
    [[ $kv == *=* ]] || { _sw_err "option '$kv' is not KEY=VALUE"; return 2; }
    k=${kv%%=*} v=${kv#*=}
    case $k in
      conn.*) _conn+=("${k#conn.}" "$v") ;;
      local.*) _local+=("${k#local.}" "$v") ;;
      remote.*) _remote+=("${k#remote.}" "$v") ;;
      child.*) _child+=("${k#child.}" "$v") ;;
      *) _o[$k]=$v ;;
    esac
  done
}

_sw_check_known() {  # _sw_check_known ALLOWED...: every key of _o must be allowed
  local k a ok
  for k in "${!_o[@]}"; do
    ok=0
    for a; do [[ $k == "$a" ]] && ok=1; done
    ((ok)) || { _sw_err "unknown option '$k' (allowed: $*)"; return 2; }
  done
}

_sw_kvs() {  # _sw_kvs INDENT KEY VALUE [KEY VALUE...]
  local ind=$1
  shift
  while (($# >= 2)); do
    _sw_kv "$ind" "$1" "$2"
    shift 2
  done
}

# sw_conf_client CONFDIR CONN SETDIR IKE ESP [KEY=VALUE...]
sw_conf_client() {
  local dir=$1 conn=$2 set=$3 ike=$4 esp=$5
  [[ $# -ge 5 ]] || { _sw_err "usage: sw_conf_client CONFDIR CONN SETDIR IKE_PROPOSALS ESP_PROPOSALS [KEY=VALUE...]"; return 2; }
  shift 5
  local -A _o=()
  local _conn=() _local=() _remote=() _child=()
  _sw_opts "$@" || return 2
  _sw_check_known gw remote_id local_id cert ca remote_ts vips child local_addrs || return 2
  local cert=${_o[cert]:-device} ca=${_o[ca]:-ca} child=${_o[child]:-$conn}
  local sd=$dir/swanctl f
  [[ -d $sd/conf.d ]] || { _sw_err "$dir: run sw_conf_new first"; return 1; }
  for f in "$set/$cert.crt" "$set/$cert.key" "$set/$ca.crt"; do
    [[ -r $f ]] || { _sw_err "missing $f (pki_gen first?)"; return 1; }
  done
  _sw_copy "$set/$cert.crt" "$sd/x509/$conn.crt" &&
    _sw_copy "$set/$cert.key" "$sd/private/$conn.key" &&
    _sw_copy "$set/$ca.crt" "$sd/x509ca/$conn-ca.crt" || return 1
  {
    printf '# generated by tests/interop/strongswan.sh: device side\nconnections {\n'
    printf '  %s {\n' "$conn"
    _sw_kvs '    ' version 2 remote_addrs "${_o[gw]:-${LAB_GW_IP:-192.0.2.1}}" \
      local_addrs "${_o[local_addrs]:-}" proposals "$ike" vips "${_o[vips]:-0.0.0.0}" \
      "${_conn[@]}"
    printf '    local {\n'
    _sw_kvs '      ' auth pubkey certs "$conn.crt" id "${_o[local_id]:-}" "${_local[@]}"
    printf '    }\n    remote {\n'
    _sw_kvs '      ' auth pubkey id "${_o[remote_id]:-${PKI_GW_ID:-gw.mgate.test}}" \
      cacerts "$conn-ca.crt" "${_remote[@]}"
    printf '    }\n    children {\n      %s {\n' "$child"
    _sw_kvs '        ' remote_ts "${_o[remote_ts]:-${LAB_CORP_NET:-203.0.113.0/24}}" \
      esp_proposals "$esp" "${_child[@]}"
    printf '      }\n    }\n  }\n}\n'
  } >"$sd/conf.d/$conn.conf"
}

# sw_conf_gw CONFDIR CONN SETDIRS IKE ESP [KEY=VALUE...]
# SETDIRS: one or more pki.sh type directories, comma separated: the gateway offers each
# gateway certificate (charon picks the one whose CA the client asks for in CERTREQ)
# and trusts each CA for the clients.
sw_conf_gw() {
  local dir=$1 conn=$2 sets=$3 ike=$4 esp=$5
  [[ $# -ge 5 ]] || { _sw_err "usage: sw_conf_gw CONFDIR CONN SETDIR[,SETDIR...] IKE_PROPOSALS ESP_PROPOSALS [KEY=VALUE...]"; return 2; }
  shift 5
  local -A _o=()
  local _conn=() _local=() _remote=() _child=()
  _sw_opts "$@" || return 2
  _sw_check_known id pool local_ts local_addrs cert ca dns child remote_id || return 2
  local cert=${_o[cert]:-gw} ca=${_o[ca]:-ca} child=${_o[child]:-$conn}
  local pool=${_o[pool]:-${LAB_POOL:-198.18.0.0/24}}
  local sd=$dir/swanctl set n=0 certs='' cas='' f
  [[ -d $sd/conf.d ]] || { _sw_err "$dir: run sw_conf_new first"; return 1; }
  local IFS=,
  for set in $sets; do
    n=$((n + 1))
    for f in "$set/$cert.crt" "$set/$cert.key" "$set/$ca.crt"; do
      [[ -r $f ]] || { _sw_err "missing $f (pki_gen first?)"; return 1; }
    done
    _sw_copy "$set/$cert.crt" "$sd/x509/$conn-$n.crt" &&
      _sw_copy "$set/$cert.key" "$sd/private/$conn-$n.key" &&
      _sw_copy "$set/$ca.crt" "$sd/x509ca/$conn-$n-ca.crt" || return 1
    certs+=${certs:+,}$conn-$n.crt
    cas+=${cas:+,}$conn-$n-ca.crt
  done
  unset IFS
  ((n)) || { _sw_err "sw_conf_gw: no certificate set given"; return 2; }
  local pools=
  [[ $pool != none ]] && pools=$conn-pool
  {
    printf '# generated by tests/interop/strongswan.sh: gateway (responder) side\nconnections {\n'
    printf '  %s {\n' "$conn"
    _sw_kvs '    ' version 2 local_addrs "${_o[local_addrs]:-}" proposals "$ike" \
      pools "$pools" "${_conn[@]}"
    printf '    local {\n'
    _sw_kvs '      ' auth pubkey certs "$certs" id "${_o[id]:-${PKI_GW_ID:-gw.mgate.test}}" \
      "${_local[@]}"
    printf '    }\n    remote {\n'
    _sw_kvs '      ' auth pubkey cacerts "$cas" id "${_o[remote_id]:-}" "${_remote[@]}"
    printf '    }\n    children {\n      %s {\n' "$child"
    _sw_kvs '        ' local_ts "${_o[local_ts]:-${LAB_CORP_NET:-203.0.113.0/24}}" \
      esp_proposals "$esp" "${_child[@]}"
    printf '      }\n    }\n  }\n}\n'
    if [[ -n $pools ]]; then
      printf 'pools {\n  %s {\n' "$pools"
      _sw_kvs '    ' addrs "$pool" dns "${_o[dns]:-}"
      printf '  }\n}\n'
    fi
  } >"$sd/conf.d/$conn.conf"
}

# _sw_write_conf NAME CONFDIR: the instance's strongswan.conf (charon and swanctl).
_sw_write_conf() {
  local name=$1 confdir=$2 run
  run=$SW_RUNDIR_BASE/$name
  {
    cat <<EOF
# generated by tests/interop/strongswan.sh for instance "$name"
charon {
  load = ${SW_CHARON_PLUGINS:-$SW_CHARON_PLUGINS_DEFAULT}
  # bounded retransmissions: a dead peer is given up after ~10 s, not ~165 s
  retransmit_tries = 3
  retransmit_timeout = 1.5
  retransmit_base = 1.5
  install_routes = yes
  plugins {
    vici {
      socket = unix://$run/charon.vici
    }
  }
  filelog {
    main {
      path = $run/charon.log
      time_format = %H:%M:%S
      time_add_ms = yes
      ike_name = yes
      append = no
      flush_line = yes
      default = ${SW_LOGLEVEL:-1}
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
swanctl {
  load = ${SW_SWANCTL_PLUGINS:-$SW_SWANCTL_PLUGINS_DEFAULT}
}
EOF
    [[ -f $confdir/strongswan.local.conf ]] && printf 'include %s\n' "$confdir/strongswan.local.conf"
  } >"$run/strongswan.conf"
}

# _sw_run NAME TIMEOUT ARGS...: swanctl against instance NAME; output to SW_OUT.
_sw_run() {
  local name=$1 t=$2 run=$SW_RUNDIR_BASE/$1 confdir='' rc t0
  shift 2
  [[ -s $run/confdir ]] || { _sw_err "instance '$name' was not started"; return 1; }
  IFS= read -r confdir <"$run/confdir"
  _SW_SEQ=$((${_SW_SEQ:-0} + 1))
  SW_OUT=$run/swanctl-$_SW_SEQ-${1#--}.out
  _sw_us t0
  STRONGSWAN_CONF=$run/strongswan.conf SWANCTL_DIR=$confdir/swanctl \
    timeout -k 2 "$t" "${SW_SWANCTL:-swanctl}" "$@" --uri "unix://$run/charon.vici" >"$SW_OUT" 2>&1
  rc=$?
  _sw_secs_since "$t0"
  ((rc == 124)) && printf 'strongswan.sh: swanctl %s timed out after %s s\n' "$*" "$t" >>"$SW_OUT"
  return $rc
}

sw_swanctl() {  # sw_swanctl NAME ARGS...: output on stdout
  local name=${1:?sw_swanctl NAME ARGS...} rc
  shift
  _sw_run "$name" "${SW_TIMEOUT:-30}" "$@"
  rc=$?
  cat "$SW_OUT"
  return $rc
}

sw_start() {  # sw_start NS NAME CONFDIR
  local ns=$1 name=$2 confdir=$3 run=$SW_RUNDIR_BASE/$2 pid t0 end st
  [[ $# == 3 ]] || { _sw_err "usage: sw_start NS NAME CONFDIR"; return 2; }
  [[ -d $confdir/swanctl ]] || { _sw_err "$confdir/swanctl missing (sw_conf_new first)"; return 1; }
  [[ $confdir == /* ]] || confdir=$PWD/$confdir
  if [[ -s $run/pid ]] && IFS= read -r pid <"$run/pid" && kill -0 "$pid" 2>/dev/null; then
    _sw_err "instance '$name' runs already (pid $pid)"
    return 1
  fi
  local charon=${SW_CHARON:-/usr/lib/ipsec/charon}
  [[ -x $charon ]] || { _sw_err "$charon not found: apt-get install strongswan-charon"; return 1; }
  # sun_path holds 108 bytes
  if ((${#run} + 20 > 108)); then
    _sw_err "run directory $run is too long for a UNIX socket path (set SW_RUNDIR_BASE)"
    return 1
  fi
  rm -rf "$run" && mkdir -p "$run" || return 1
  printf '%s\n' "$confdir" >"$run/confdir"
  printf '%s\n' "$ns" >"$run/ns"
  _sw_write_conf "$name" "$confdir"
  _sw_us t0
  # charon's pid file (/run/charon.pid) and default socket paths are fixed: give it a
  # private mount namespace with an empty tmpfs on /run. ip netns exec, unshare and sh
  # all exec, so $! is charon itself.
  # shellcheck disable=SC2016 # $1 and $@ belong to the inner sh
  STRONGSWAN_CONF=$run/strongswan.conf \
    ip netns exec "$ns" unshare --mount --propagation private -- \
    /bin/sh -c 'mount -t tmpfs -o mode=0755,size=4m sw-run /run && cd "$1" && shift && exec "$@"' \
    sh "$run" "$charon" </dev/null >"$run/charon.out" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$run/pid"
  _SW_PIDS[$name]=$pid
  end=$((t0 + ${SW_START_TIMEOUT:-30} * 1000000))
  until [[ -S $run/charon.vici ]]; do
    _sw_state st "$pid"
    if [[ -z $st || $st == Z ]]; then
      _sw_err "charon '$name' in $ns exited during start:"
      tail -n 20 "$run/charon.out" "$run/charon.log" 2>/dev/null | sed 's/^/  /' >&2
      wait "$pid" 2>/dev/null
      return 1
    fi
    if ((${EPOCHREALTIME/[.,]/} > end)); then
      _sw_err "charon '$name' in $ns: no VICI socket after ${SW_START_TIMEOUT:-30} s"
      sw_stop "$name"
      return 1
    fi
    sleep 0.05
  done
  _sw_secs_since "$t0"
}

_sw_state() {  # _sw_state VAR PID: VAR = process state letter (R, S, Z, ...), empty if gone
  local stat=
  printf -v "$1" '%s' ''
  { IFS= read -r stat <"/proc/$2/stat"; } 2>/dev/null || return 0
  stat=${stat##*) }
  printf -v "$1" '%s' "${stat%% *}"
}

sw_load() {  # sw_load NAME
  local name=${1:?sw_load NAME}
  if ! _sw_run "$name" "${SW_TIMEOUT:-30}" --load-all --noprompt; then
    _sw_err "swanctl --load-all for '$name' failed:"
    sed 's/^/  /' "$SW_OUT" >&2
    return 1
  fi
  # swanctl may exit 0 although something did not load: catch what it reports.
  if grep -vE "^(loaded |successfully loaded |no (authorities|pools|connections) found)" "$SW_OUT" |
     grep -qiE 'fail|error|invalid|unable|not found'; then
    _sw_err "swanctl --load-all for '$name' reported problems:"
    sed 's/^/  /' "$SW_OUT" >&2
    return 1
  fi
}

sw_initiate() {  # sw_initiate NAME CHILD [IKE]
  local name=${1:?sw_initiate NAME CHILD [IKE]} child=${2:?sw_initiate NAME CHILD [IKE]}
  local t=${SW_TIMEOUT:-30}
  _sw_run "$name" "$((t + 5))" --initiate --child "$child" ${3:+--ike "$3"} --timeout "$t"
}

sw_terminate() {  # sw_terminate NAME IKE
  local name=${1:?sw_terminate NAME IKE} ike=${2:?sw_terminate NAME IKE}
  local t=${SW_TIMEOUT:-30}
  _sw_run "$name" "$((t + 5))" --terminate --ike "$ike" --timeout "$t"
}

sw_list_sas() {  # sw_list_sas NAME [IKE]
  sw_swanctl "${1:?sw_list_sas NAME [IKE]}" --list-sas ${2:+--ike "$2"}
}

sw_ike_count() {  # sw_ike_count NAME [IKE]: prints the number of IKE SAs
  local name=${1:?sw_ike_count NAME [IKE]}
  _sw_run "$name" "${SW_TIMEOUT:-30}" --list-sas --raw ${2:+--ike "$2"} || return 1
  grep -c '^list-sa event' "$SW_OUT"
}

sw_vip() {  # sw_vip NAME IKE: the local virtual IP(s), one a line; fails if none
  local name=${1:?sw_vip NAME IKE} line v found=1
  _sw_run "$name" "${SW_TIMEOUT:-30}" --list-sas --raw --ike "${2:?sw_vip NAME IKE}" || return 1
  while IFS= read -r line; do
    while [[ $line =~ local-vips=\[([^]]*)\] ]]; do
      for v in ${BASH_REMATCH[1]}; do
        printf '%s\n' "$v"
        found=0
      done
      line=${line#*local-vips=\[}
    done
  done <"$SW_OUT"
  return $found
}

sw_log() { cat "$SW_RUNDIR_BASE/${1:?sw_log NAME}/charon.log" 2>/dev/null; }

sw_wait_log() {  # sw_wait_log NAME ERE [SEC]
  local f=$SW_RUNDIR_BASE/${1:?sw_wait_log NAME ERE [SEC]}/charon.log
  local end=$((${EPOCHREALTIME/[.,]/} + ${3:-10} * 1000000))
  while :; do
    grep -qE -- "${2:?sw_wait_log NAME ERE [SEC]}" "$f" 2>/dev/null && return 0
    ((${EPOCHREALTIME/[.,]/} < end)) || return 1
    sleep 0.1
  done
}

sw_stop() {  # sw_stop NAME
  local name=${1:?sw_stop NAME} run=$SW_RUNDIR_BASE/$1 pid='' st end
  [[ -s $run/pid ]] && IFS= read -r pid <"$run/pid"
  unset "_SW_PIDS[$name]"
  [[ -n $pid ]] || return 0
  rm -f "$run/pid"
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  end=$((${EPOCHREALTIME/[.,]/} + ${SW_STOP_TIMEOUT:-10} * 1000000))
  while :; do
    _sw_state st "$pid"
    [[ -z $st || $st == Z ]] && break
    if ((${EPOCHREALTIME/[.,]/} > end)); then
      _sw_err "charon '$name' (pid $pid) ignored SIGTERM for ${SW_STOP_TIMEOUT:-10} s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null
  return 0
}

sw_stop_all() {
  local name
  for name in "${!_SW_PIDS[@]}"; do
    sw_stop "$name"
  done
}

sw_cleanup() {  # stop every instance of this shell and remove SW_RUNDIR_BASE
  sw_stop_all
  rm -rf "$SW_RUNDIR_BASE"
}
