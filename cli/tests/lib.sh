# SPDX-License-Identifier: MIT
# Shared by the CLI smoke scripts (source it): a temporary folder, named checks, and the
# one-clear-line error convention. Call `finish NAME` at the end.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail=0
check() {  # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=$((fail + 1)); fi
}
expect_error() {  # expect_error NAME PATTERN -- COMMAND...: exit 1 (bad input), one stderr line, PATTERN in it
  local name="$1" pattern="$2"; shift 3
  local out rc
  out="$("$@" 2>&1 >/dev/null)"; rc=$?
  if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] && printf '%s' "$out" | grep -q -- "$pattern"; then
    echo "ok   $name"
  else
    echo "FAIL $name (rc=$rc, stderr: $out)"; fail=$((fail + 1))
  fi
}
expect_skipped() {  # expect_skipped NAME PATTERN -- COMMAND...: exit 3 (--keep-going skipped inputs), PATTERN on stderr
  local name="$1" pattern="$2"; shift 3
  local out rc
  out="$("$@" 2>&1 >/dev/null)"; rc=$?
  if [ $rc -eq 3 ] && printf '%s' "$out" | grep -q -- "$pattern"; then
    echo "ok   $name"
  else
    echo "FAIL $name (rc=$rc, stderr: $out)"; fail=$((fail + 1))
  fi
}
expect_exit_status_help() {  # expect_exit_status_help COMMAND...: its --help documents the exit status
  check "$* --help documents the exit status" bash -c '"$@" --help | grep -q "Exit status: 0 all inputs done; 3 --keep-going"' _ "$PM" "$@"
}
finish() {  # finish NAME: the exit status of the script
  if [ $fail -ne 0 ]; then echo "$1: $fail check(s) failed"; exit 1; fi
  echo "$1: all checks passed"
}
skip_without_nn() {  # skip_without_nn NAME: exit 0 (skipped) when the libtorch module is not built
  if ! "$PM" train-seg --help > /dev/null 2>&1; then
    echo "$1: the nn module is not built (PM_BUILD_NN=OFF); skipped"
    exit 0
  fi
}
