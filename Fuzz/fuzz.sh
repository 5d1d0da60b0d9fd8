#!/usr/bin/env bash
# Builds the readers' fuzz targets with libFuzzer and AddressSanitizer (swiftc's own
# -sanitize=fuzzer; no SwiftPM build folder is touched) and runs each for a bounded time.
#
#   bash Fuzz/fuzz.sh                 # every target, 30 s each (what the test command runs)
#   bash Fuzz/fuzz.sh 3600 xml        # one target for an hour
#   FUZZ_JOBS=2 bash Fuzz/fuzz.sh 600 # libFuzzer -fork workers per target
#
# Corpora grow under .build-fuzz/corpus/<target> (seeded from Fuzz/Corpus and the test
# fixtures); a crash is written to Fuzz/Crashes/<target>/ and the run fails. Commit that file:
# `swift test` replays every file there (FuzzRegressionTests), so the fix stays a fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv jsonl xml gzip)
out=.build-fuzz
mkdir -p "$out"

flags=(-O -g -parse-as-library -sanitize=fuzzer,address -I "$out"
  -I Sources/CZlib -I Sources/CLibXML2 -Xcc -I/usr/include/libxml2)
# The readers' modules, rebuilt only when their sources changed.
build_module() {
  local name=$1; shift
  local stamp="$out/$name.stamp" sources=("$@")
  if [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" 2>/dev/null)" ]; then return; fi
  echo "fuzz: compiling $name"
  swiftc "${flags[@]}" -emit-module -emit-library -static -module-name "$name" \
    -emit-module-path "$out/$name.swiftmodule" -o "$out/lib$name.a" "${sources[@]}" 2>&1 | grep -v "^$" || true
  [ -f "$out/lib$name.a" ] && touch "$stamp"
}
build_module SluiceJSON $(find Sources/SluiceJSON -name '*.swift')
build_module SluiceFormats $(find Sources/SluiceFormats -name '*.swift')
build_module SluiceFuzz $(find Sources/SluiceFuzz -name '*.swift')

status=0
for target in "${targets[@]}"; do
  upper=$(echo "$target" | tr a-z A-Z)
  binary="$out/fuzz-$target"
  swiftc "${flags[@]}" -D "FUZZ_$upper" Fuzz/Entry.swift "$out/libSluiceFuzz.a" "$out/libSluiceFormats.a" "$out/libSluiceJSON.a" \
    -lxml2 -lz -o "$binary" 2>&1 | grep -v "Cannot export local symbol" || true
  corpus="$out/corpus/$target"
  crashes="Fuzz/Crashes/$target"
  mkdir -p "$corpus" "$crashes"
  seeds=(Fuzz/Corpus/$target)
  echo "fuzz: $target for ${seconds}s"
  # ASan's leak checker is off: libxml2 keeps process-wide tables by design.
  if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      ${FUZZ_JOBS:+-fork="$FUZZ_JOBS"} -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" > "$out/$target.log" 2>&1; then
    echo "fuzz: $target FOUND A CRASH (Fuzz/Crashes/$target):"
    grep -E "fuzz invariant|Fatal error|ERROR: AddressSanitizer|SUMMARY|Test unit written" "$out/$target.log" | head -20
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/$target.log" | tail -2 | sed "s/^/fuzz: $target: /"
  fi
done
exit $status
