#!/usr/bin/env bash
# Peak memory and CPU of `sluice run` with N requests in flight at once (default 10,000), against
# the simulator holding every request for a fixed time. Needs a release build:
#   swift build -c release --product sluice && bash Benchmarks/inflight_memory.sh [N]
# Environment:
#   HOLD=40     seconds the simulator holds each request
#   TLS=1       serve TLS (HTTP/2 by ALPN, as the real endpoint): sluice multiplexes streams
#   ALPN=http/1.1  with TLS=1: offer HTTP/1.1 only (HTTPS without HTTP/2)
#   LANE=100    requests per HTTP pool in sluice (hidden --http-lane-size; 100 is the default,
#               N puts every request in one pool, as before lanes)
set -euo pipefail
N=${1:-10000}
HOLD=${HOLD:-40}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SLUICE_BIN:-"$ROOT/.build/release/sluice"}
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

TLS_SIM=() TLS_RUN=() CURL=(curl -s)
if [[ -n "${TLS:-}" ]]; then
  TLS_SIM=(--tls --ca-out "$WORK/ca.pem")
  [[ -n "${ALPN:-}" ]] && TLS_SIM+=(--alpn "$ALPN")
  TLS_RUN=(--ca-file "$WORK/ca.pem")
  CURL=(curl -s --cacert "$WORK/ca.pem")
fi
"$BIN" simulate --port 0 --flex-capacity $((N + 1000)) --flex-queue $((N + 1000)) \
  --flex-latency "$HOLD,$HOLD,$HOLD" --time-scale 1 --no-capture --event-log-limit 10 "${TLS_SIM[@]}" > "$WORK/sim.out" &
SIM=$!
for _ in $(seq 50); do grep -q http "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'https\?://[0-9.:]*' "$WORK/sim.out" | head -1)

# /usr/bin/time reports the run's peak RSS and its CPU seconds (user + system).
GEMINI_API_KEY=sim-test-key /usr/bin/time -o "$WORK/time.out" -f "%M %U %S %e" "$BIN" run "$WORK/in.csv" -t "$WORK/t.md" \
  --endpoint "$URL" "${TLS_RUN[@]}" --http-lane-size "${LANE:-100}" \
  --concurrency "$N" --min-concurrency "$N" --progress-interval 5 2> "$WORK/run.err" &
RUN=$!
peak_inflight=0
SECONDS=0
while kill -0 $RUN 2>/dev/null; do
  inflight=$("${CURL[@]}" "$URL/_sim/stats?prompts=0" | python3 -c 'import json,sys; s=json.load(sys.stdin); q=s.get("queues",{}).get("flex",{}); print(q.get("in_service",0)+q.get("queued",0))' 2>/dev/null || echo 0)
  (( inflight > peak_inflight )) && peak_inflight=$inflight
  [[ -n "${VERBOSE:-}" ]] && echo "t=${SECONDS}s held=$inflight"
  sleep 1
done
wait $RUN || true
read -r rss_kb user sys wall < "$WORK/time.out"
transport=$("${CURL[@]}" "$URL/_sim/stats?prompts=0" | python3 -c '
import json, sys
t = json.load(sys.stdin)["transport"]
print("connections %d %s, peak open %d, h2 streams %d (peak %d open)" % (t["connections"], t["connections_by_protocol"], t["peak_open_connections"], t["streams"], t["peak_open_streams"]))')
echo "records: $N  hold: ${HOLD}s  tls: ${TLS:-no}${ALPN:+ ($ALPN)}  lane: ${LANE:-100}  peak requests held by the simulator at once: $peak_inflight"
echo "transport: $transport"
python3 -c "import sys; rss, u, s, w, n, hold = map(float, sys.argv[1:]); print(f'sluice peak RSS: {rss/1024:.0f} MB ({rss/n:.1f} KB per record)  CPU: {u+s:.1f} s ({(u+s)/n*1000:.2f} ms per record)  wall: {w:.1f} s ({w-hold:.1f} s over the hold)')" \
  "$rss_kb" "$user" "$sys" "$wall" "$N" "$HOLD"
tail -3 "$WORK/run.err"
