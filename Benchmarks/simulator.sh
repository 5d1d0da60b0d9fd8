#!/usr/bin/env bash
# Simulator speed: answers/s on loopback at zero latency (wrk), and resident memory while
# 10,000 requests wait in its Flex queue. Usage: bash Benchmarks/simulator.sh  (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product sluice >/dev/null
bin=.build/release/sluice
ulimit -n 20000 2>/dev/null || true

start_sim() {
  "$bin" simulate --port 0 "$@" > /tmp/sluice-sim-bench.log &
  sim_pid=$!
  for _ in $(seq 50); do grep -q listening /tmp/sluice-sim-bench.log 2>/dev/null && break; sleep 0.1; done
  port=$(grep -o '127.0.0.1:[0-9]*' /tmp/sluice-sim-bench.log | head -1 | cut -d: -f2)
}

echo "== answers/s at zero latency (wrk, 2 threads, 64 connections, 15 s)"
start_sim --time-scale 0 --no-capture --flex-capacity 100000
wrk -t2 -c64 -d15s -s Benchmarks/simulator_post.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|requests in"
echo "rss after: $(grep VmHWM /proc/$sim_pid/status)"
kill $sim_pid; wait $sim_pid 2>/dev/null || true

echo "== memory with 10,000 requests waiting (capacity 64, Flex latency 60–900 s)"
start_sim --time-scale 1 --no-capture --flex-capacity 64 --flex-queue 20000
python3 Benchmarks/simulator_queue_load.py --port "$port" --pid "$sim_pid" -n 10000
kill $sim_pid; wait $sim_pid 2>/dev/null || true
