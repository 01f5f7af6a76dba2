#!/usr/bin/env bash
# The GitHub Action's work (action.yml runs it with the inputs in INPUT_*):
# sagefence iac on the given paths, the report in INPUT_FORMAT to
# INPUT_OUTPUT (SARIF for code scanning by default), annotations on the pull
# request (--format github), a Markdown step summary; then, if asked, a live
# scan the same way. The exit code follows INPUT_FAIL_ON: "fail" (default)
# fails the step on a FAIL or an incomplete check, "review" on a REVIEW too,
# "never" only on a usage error.
set -uo pipefail

fail_on=${INPUT_FAIL_ON:-fail}
case "$fail_on" in
  fail | review | never) ;;
  *) echo "::error title=sagefence::fail-on \"$fail_on\": want fail, review or never"; exit 2 ;;
esac
format=${INPUT_FORMAT:-sarif}
output=${INPUT_OUTPUT:-sagefence.sarif}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}

read -r -a paths <<< "${INPUT_PATHS:-.}"
[ "${#paths[@]}" -gt 0 ] || paths=(.)
common=()
if [ -n "${INPUT_EXCEPTIONS:-}" ]; then
  common+=(--exceptions "$INPUT_EXCEPTIONS")
fi
if [ "$fail_on" = review ]; then
  common+=(--strict)
fi

sagefence iac "${paths[@]}" "${common[@]}" --format "$format" --output "$output"
code=$?
if [ "$code" -eq 2 ]; then
  echo "::error title=sagefence::sagefence iac could not run (exit 2); see the log"
  exit 2
fi
sagefence iac "${paths[@]}" "${common[@]}" --format github
sagefence iac "${paths[@]}" "${common[@]}" --format markdown >> "$summary"

if [ "${INPUT_SCAN:-false}" = true ]; then
  read -r -a scan_args <<< "${INPUT_SCAN_ARGS:-}"
  scan_dir=$(mktemp -d)
  sagefence scan "${scan_args[@]}" "${common[@]}" --format github,markdown --output-dir "$scan_dir"
  scan_code=$?
  if [ "$scan_code" -eq 2 ]; then
    echo "::error title=sagefence::sagefence scan could not run (exit 2); see the log"
    exit 2
  fi
  cat "$scan_dir/report.github.txt"
  cat "$scan_dir/report.md" >> "$summary"
  rm -rf "$scan_dir"
  # The worse of the two: incomplete (3) wins over a failure (1).
  if [ "$scan_code" -eq 3 ] || { [ "$scan_code" -eq 1 ] && [ "$code" -ne 3 ]; }; then
    code=$scan_code
  fi
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    echo "report=$output"
  } >> "$GITHUB_OUTPUT"
fi
if [ "$fail_on" = never ]; then
  exit 0
fi
exit "$code"
