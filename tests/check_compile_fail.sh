#!/usr/bin/env bash
# A mistake that must not compile: compiles tests/compile_fail/<name>.cpp
# against the public headers and passes only if the compiler refuses it with
# the message its first line names ("// expect: ..."), within a few lines.
#   check_compile_fail.sh <c++ compiler> <include dir> <snippet>
set -uo pipefail
compiler=$1
include_dir=$2
snippet=$3
expected=$(sed -n '1s|^// expect: ||p' "$snippet")
if [[ -z $expected ]]; then
  echo "$snippet: the first line must be '// expect: <message>'" >&2
  exit 2
fi
if output=$("$compiler" -std=c++20 -fsyntax-only -I"$include_dir" "$snippet" 2>&1); then
  echo "FAIL: $snippet compiled; expected an error saying: $expected" >&2
  exit 1
fi
if ! grep -qF -- "$expected" <<<"$output"; then
  echo "FAIL: $snippet failed to compile, but without the message: $expected" >&2
  echo "$output" >&2
  exit 1
fi
# One mistake, one error: not pages of template errors after it.
errors=$(grep -c 'error:' <<<"$output")
if ((errors > 2)); then
  echo "FAIL: $snippet gave $errors errors; expected the one message" >&2
  echo "$output" >&2
  exit 1
fi
echo "OK: $(basename "$snippet") refused with: $expected"
