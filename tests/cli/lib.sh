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
  # stdin: $work/stdin when a script wrote one. With one_line_errors=1, stderr must also be
  # exactly one line `swalp: error: ...` (DESIGN.md section 5).
  local name="$1" code="$2" fragment="$3"; shift 3
  local input=/dev/null
  [ -e "$work/stdin" ] && input="$work/stdin"
  "$@" < "$input" > "$work/out" 2> "$work/err"
  local rc=$? format=ok
  if [ "${one_line_errors:-0}" -eq 1 ]; then
    { grep -q '^swalp: error: ' "$work/err" && [ "$(wc -l < "$work/err")" -eq 1 ]; } || format=bad
  fi
  if [ "$rc" -eq "$code" ] && grep -qF -- "$fragment" "$work/err" && [ "$format" = ok ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL: $name (exit $rc: $(cat "$work/err"))"
  fi
}

finish() {  # prints the counts; the script's exit status
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
