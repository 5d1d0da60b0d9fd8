#!/usr/bin/env bash
# Peak memory of `sluice run` with N requests in flight at once (default 10,000), against the
# simulator holding every request for a fixed time. Needs a release build:
#   swift build -c release --product sluice && bash Benchmarks/inflight_memory.sh [N]
set -euo pipefail
N=${1:-10000}
HOLD=${HOLD:-40}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.build/release/sluice"
WORK=$(mktemp -d)
trap '[[ -n "$SIM" ]] && kill $SIM 2>/dev/null; rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)"
SIM=""

python3 - "$WORK/in.csv" "$N" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name,notes\n")
    for i in range(int(sys.argv[2])):
        f.write(f"{i},Company {i},\"Makes things, number {i}\"\n")
PY
printf 'Describe {{name}} ({{notes}}) in one sentence.\n' > "$WORK/t.md"

"$BIN" simulate --port 0 --flex-capacity $((N + 1000)) --flex-queue $((N + 1000)) \
  --flex-latency "$HOLD,$HOLD,$HOLD" --time-scale 1 --no-capture --event-log-limit 10 > "$WORK/sim.out" &
SIM=$!
for _ in $(seq 50); do grep -q http "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/sim.out" | head -1)

GEMINI_API_KEY=sim-test-key "$BIN" run "$WORK/in.csv" -t "$WORK/t.md" --endpoint "$URL" \
  --concurrency "$N" --min-concurrency "$N" --progress-interval 5 2> "$WORK/run.err" &
RUN=$!
peak_inflight=0
last_hwm=0
SECONDS=0
while kill -0 $RUN 2>/dev/null; do
  inflight=$(curl -s "$URL/_sim/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); q=s.get("queues",{}).get("flex",{}); print(q.get("in_service",0)+q.get("queued",0))' 2>/dev/null || echo 0)
  (( inflight > peak_inflight )) && peak_inflight=$inflight
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$RUN/status 2>/dev/null || true)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$RUN/status 2>/dev/null || true)
  [[ -n "$hwm" ]] && last_hwm=$hwm
  [[ -n "${VERBOSE:-}" && -n "$rss" ]] && echo "t=${SECONDS}s held=$inflight rss=$((rss / 1024))MB"
  sleep 1
done
wait $RUN || true
echo "records: $N  hold: ${HOLD}s  peak requests held by the simulator at once: $peak_inflight"
echo "sluice peak RSS (VmHWM): $((last_hwm / 1024)) MB"
tail -3 "$WORK/run.err"
