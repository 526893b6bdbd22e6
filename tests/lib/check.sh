# shellcheck shell=bash
# check.sh: the assertion helpers every shell test uses (source it). Each
# check prints one "ok   - ..." or "FAIL - ..." line; the test ends with
# "N passed, N failed" (check_summary), which CI reads.
PASS=0 FAIL=0

ok() { echo "ok   - $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL - $*"; FAIL=$((FAIL + 1)); }
# check WHAT CMD...: one line for CMD's outcome.
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# until_ok SECONDS CMD...: polls CMD every 0.1 s, bounded.
until_ok() { local n=$(($1 * 10)); shift; while ((n-- > 0)); do "$@" && return 0; sleep 0.1; done; return 1; }
# check_summary: the closing line; fails when any check did.
check_summary() { echo "$PASS passed, $FAIL failed"; [[ $FAIL == 0 ]]; }
