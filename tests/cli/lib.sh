# Shared by the CLI test scripts (sourced after `swalp="$1"`): a scratch folder removed at exit,
# pass/fail counters, check, expect_error and finish.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() {  # check NAME COMMAND...: passes when the command succeeds
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

expect_error() {  # expect_error NAME EXIT_CODE MESSAGE_FRAGMENT COMMAND...
  local name="$1" code="$2" fragment="$3"; shift 3
  "$@" > /dev/null 2> "$work/err"
  local rc=$?
  if [ "$rc" -eq "$code" ] && grep -qF -- "$fragment" "$work/err"; then passed=$((passed + 1));
  else failed=$((failed + 1)); echo "FAIL: $name (exit $rc: $(cat "$work/err"))"; fi
}

finish() {  # prints the counts; the script's exit status
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
