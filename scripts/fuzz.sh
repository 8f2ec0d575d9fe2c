#!/usr/bin/env bash
# Runs every native Go fuzz target (func FuzzX(f *testing.F)) of the module,
# one after the other, each for TIME, and prints one line per target.
#
# Usage: scripts/fuzz.sh [TIME] [PACKAGE...]   (defaults: 30s ./...)
#
# TIME is what go test's -fuzztime takes: a duration (3s, 1m) or a count of
# executions (1000x). Targets are found by asking go test itself
# (go test -list) in each package whose test files mention "func Fuzz", so a
# new target is run without being named here, and one that the build
# constraints leave out (a _linux_test.go file elsewhere) is not. A target
# that fails leaves the input that broke it in its package's
# testdata/fuzz/FuzzX/, where it becomes a seed of the normal tests: keep
# it. A run that ends with go test's own "context deadline exceeded" race
# at the -fuzztime boundary and no failing input (golang/go#75804, fixed in
# Go 1.27) is run once more; twice, it is reported, not failed. Exits 1 if
# any target failed, 2 on a usage or discovery error.
# Builds and downloads nothing beyond the test binaries.
set -euo pipefail
fuzztime=${1:-30s}
[ $# -gt 0 ] && shift
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
cd "$(dirname "$0")/.."
case $fuzztime in
  *[0-9]x | *[0-9]s | *[0-9]m | *[0-9]h | *[0-9]ms) ;;
  *) echo "fuzz: TIME $fuzztime is not a duration (3s, 1m) or a count (1000x)" >&2; exit 2 ;;
esac

# Packages (directories) with a test file that declares a Fuzz function.
mapfile -t dirs < <(go list -f '{{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' "${pkgs[@]}" |
  while read -r dir files; do
    [ -n "$files" ] || continue
    for f in $files; do
      if grep -q '^func Fuzz[A-Za-z0-9_]*(' "$dir/$f"; then
        echo "$dir"
        break
      fi
    done
  done)
if [ ${#dirs[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets in ${pkgs[*]}" >&2
  exit 2
fi

# "package target" pairs, as go test -list sees them on this platform.
targets=()
for dir in "${dirs[@]}"; do
  if ! out=$(cd "$dir" && go test -list '^Fuzz' . 2>&1); then
    echo "fuzz: listing the targets of $dir failed:" >&2
    echo "$out" >&2
    exit 2
  fi
  pkg=$(cd "$dir" && go list .)
  while read -r name; do
    case $name in Fuzz*) targets+=("$pkg $name") ;; esac
  done <<<"$out"
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
start=$SECONDS
# deadlineFlake reports whether a failed fuzzing run is only Go's own race
# at the -fuzztime boundary (golang/go#75804, fixed in Go 1.27): "context
# deadline exceeded" with no failing input written and no panic. A real
# finding always writes its input to testdata/fuzz.
deadlineFlake() {
  grep -q 'context deadline exceeded' "$1" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

flaked=0
for t in "${targets[@]}"; do
  pkg=${t% *}
  name=${t#* }
  t0=$SECONDS
  ok=0
  for try in 1 2; do # a deadline flake is retried once
    if go test -run='^$' -fuzz="^$name\$" -fuzztime="$fuzztime" "$pkg" >"$log" 2>&1; then
      ok=1
      break
    fi
    deadlineFlake "$log" || break
    [ "$try" = 2 ] && ok=2
  done
  if [ "$ok" != 0 ]; then
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    note=""
    if [ "$ok" = 2 ]; then
      flaked=$((flaked + 1))
      note=" (twice ended by go test's -fuzztime race, golang/go#75804: no failing input)"
    fi
    printf 'ok    %-40s %-32s %3ds %s execs%s\n' "$pkg" "$name" $((SECONDS - t0)) "${execs:-?}" "$note"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-40s %-32s %3ds\n' "$pkg" "$name" $((SECONDS - t0))
    sed 's/^/      /' "$log" | tail -40
  fi
done
echo "fuzz: ${#targets[@]} targets, $failed failed, $flaked ended twice by the deadline race, $((SECONDS - start))s (each for $fuzztime)"
[ "$failed" -eq 0 ] || exit 1
