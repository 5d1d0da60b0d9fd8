#!/usr/bin/env python3
"""How much of its bound a client earns at Flex's real ratios, under one time scale.

Everything is scaled by --scale (default 1/20): the simulator's Flex latencies (60 s min,
180 s median, 900 s max), its 60 s rate window, its capacity schedule, and the client's clock
(sluice's hidden --time-scale; the baselines' backoff delays). So a 3-minute Flex answer against
a 1-minute window keeps its 3:1 ratio, and a controller that works per round trip shows it.

Scenarios (each a fresh simulator; N records of one short prompt each):
  quota     1,000 RPM and 100,000 TPM, capacity far above: the quota binds.
  capacity  no quota; Flex serves 2,000 at once and queues 1,000, the rest is shed (503).
  spike     capacity 4,000 (queue 1,000), a tenth of it from 120 s to 420 s (evicting), then back.
  random503 the quota scenario with 5% of requests failed with 503 at random.

Measures, for each client:
  time/ideal   wall time over the bound's ideal: N / quota rate + one mean latency (the last
               request is answered a latency after it is sent), or N x latency / capacity
  share        steady-state share of the bound: requests accepted per rate window / quota
               (from 20% to 80% of the records accepted), or requests in service / capacity
               (from 20% to 80% of the records answered)
  to 90%       from the start (spike: from its end) until the share first reaches 90%, in
               round trips (mean Flex latency)
  429 / 503    share of requests answered so in steady state
  *            a run cut by --timeout before its steady range: answers/s over the whole run ÷ the
               bound's rate
  RSS          peak resident memory of the client process

--tls serves the simulator over TLS (HTTP/2 or HTTP/1.1 by ALPN, a certificate authority made
for the run), as the real endpoint is served; sluice then speaks HTTP/2 and is handed the
authority with --ca-file. The Python baselines stay on cleartext HTTP/1.1.

Clients: sluice with default flags; the docs' retry loop (fixed workers, 5 s x 2^n backoff); the
official Python SDK (google-genai, async) under a semaphore. Loopback only; every run is
bounded by --timeout (wall seconds), after which what was reached is reported.

  python3 Benchmarks/quota_bench.py                       # every scenario, every client
  python3 Benchmarks/quota_bench.py --scenarios quota --clients sluice --records 20000
  python3 Benchmarks/quota_bench.py --clients sluice --tls      # over TLS + HTTP/2
"""
import argparse, asyncio, json, os, ssl, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SLUICE_BIN", os.path.join(ROOT, ".build", "release", "sluice"))
PROMPT = "Record {id}: classify this company."

SCENARIOS = {
    "quota": dict(sim=["--rpm", "1000", "--tpm", "100000", "--flex-capacity", "40000", "--flex-queue", "40000"],
                  bound="quota", quota=1000),
    "capacity": dict(sim=["--flex-capacity", "2000", "--flex-queue", "1000"], bound="capacity", capacity=2000),
    "spike": dict(sim=["--flex-capacity", "4000", "--flex-queue", "1000", "--flex-capacity-schedule", "0:4000,120:400,420:4000"],
                  bound="capacity", capacity=4000, spike=(120, 420)),
    "random503": dict(sim=["--rpm", "1000", "--tpm", "100000", "--flex-capacity", "40000", "--flex-queue", "40000", "--fault", "503=0.05"],
                      bound="quota", quota=1000),
}


# Set by main() with --tls: the run's certificate authority, trusted by the stats poller and sluice.
CA_FILE = None


def base_url(port):
    return f"{'https' if CA_FILE else 'http'}://127.0.0.1:{port}"


def get(port, path):
    context = ssl.create_default_context(cafile=CA_FILE) if CA_FILE else None
    with urllib.request.urlopen(f"{base_url(port)}{path}", timeout=30, context=context) as r:
        return json.load(r)


def start_sim(args, extra):
    tls = ["--tls", "--ca-out", CA_FILE] if CA_FILE else []
    p = subprocess.Popen([BIN, "simulate", "--port", "0", "--time-scale", str(args.scale), "--seed", "7", "--no-capture",
                          "--event-log-limit", "10", "--flex-latency", "60,180,900"] + tls + extra,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, int(line.split()[-1].rsplit(":", 1)[1])


class Sampler(threading.Thread):
    """Polls /_sim/stats every 50 ms (scaled: 1 s real) until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.samples, self.stop = port, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                s = get(self.port, "/_sim/stats?prompts=0")
                t = s["totals"]
                faults = sum(v for k, v in s["faults_by_kind"].items() if k in ("500", "503", "504", "429"))
                q = s["queues"]["flex"]
                self.samples.append(dict(t=s["uptime_seconds"], requests=t["requests"], limited=t["rate_limited"], faults=faults,
                                         answers=t["answers"], in_service=q["in_service"], capacity=q["capacity"],
                                         status=s.get("responses_by_status", {}), shed=t["shed"], evicted=t["evicted"],
                                         service=s["service_seconds_by_tier"].get("flex", 0), served=q["served"]))
            except Exception:
                pass
            self.stop.wait(0.05)


def peak_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_sluice(port, args, directory):
    path = os.path.join(directory, "in.csv")
    with open(os.path.join(directory, "t.md"), "w") as f:
        f.write(PROMPT.replace("{id}", "{{id}}"))
    env = dict(os.environ, GEMINI_API_KEY="sim-test-key")
    p = subprocess.Popen([BIN, "run", path, "-t", os.path.join(directory, "t.md"), "--endpoint", base_url(port),
                          "--restart", "--time-scale", str(args.scale), "-o", os.path.join(directory, "out.csv"),
                          "--report", os.path.join(directory, "report.json")] + (["--ca-file", CA_FILE] if CA_FILE else []) + args.sluice_flags,
                         env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "stderr.txt"), "w"))
    return p


PY_CLIENT = r'''
import asyncio, json, sys, time
mode, port, n, workers, scale, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
PROMPT = "Record {id}: classify this company."

async def raw_loop():
    """The docs' pattern: N workers; on 429/503 sleep 5 s x 2^attempt (scaled) and retry."""
    queue = asyncio.Queue()
    for i in range(n): queue.put_nowait(i + 1)
    async def one(i):
        body = json.dumps({"model": "gemini-3.5-flash", "input": PROMPT.format(id=i), "service_tier": "flex", "store": False}).encode()
        attempt = 0
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"POST /v1beta/interactions HTTP/1.1\r\nHost: x\r\nx-goog-api-key: sim-test-key\r\ncontent-type: application/json\r\n"
                             b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                await reader.read()
                writer.close()
            except (OSError, IndexError, ValueError):
                status = 0
            if status == 200: return
            await asyncio.sleep(min(5 * scale * (2 ** attempt), 300 * scale))
            attempt += 1
    async def worker():
        while time.monotonic() < deadline:
            try: i = queue.get_nowait()
            except asyncio.QueueEmpty: return
            await one(i)
    await asyncio.gather(*(worker() for _ in range(workers)))

async def sdk():
    """The official SDK, async, its own retries (delays scaled), a semaphore of N, an outer retry."""
    from google import genai
    from google.genai import types
    client = genai.Client(api_key="sim-test-key", http_options=types.HttpOptions(
        base_url=f"http://127.0.0.1:{port}", api_version="v1beta", timeout=1_200_000,
        retry_options=types.HttpRetryOptions(attempts=5, initial_delay=1.0 * scale, max_delay=60 * scale)))
    sem = asyncio.Semaphore(workers)
    async def one(i):
        async with sem:
            while time.monotonic() < deadline:
                try:
                    await client.aio.models.generate_content(model="gemini-3.5-flash", contents=PROMPT.format(id=i),
                                                             config=types.GenerateContentConfig(service_tier="flex"))
                    return
                except Exception:
                    await asyncio.sleep(5 * scale)
    await asyncio.gather(*(one(i + 1) for i in range(n)))

asyncio.run(raw_loop() if mode == "loop" else sdk())
'''


def run_python(mode, port, args):
    deadline = time.monotonic() + args.timeout
    return subprocess.Popen([sys.executable, "-c", PY_CLIENT, mode, str(port), str(args.records), str(args.workers), str(args.scale),
                             str(deadline)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def analyse(samples, scenario, args, wall, n):
    """Steady-state share, time to 90%, error shares: see the module docstring."""
    scale = args.scale
    latency = None
    last = samples[-1]
    if last["served"]:
        latency = last["service"] / last["served"]
    answered = last["answers"]
    lo = next((s for s in samples if s["answers"] >= 0.2 * n), None)
    hi = next((s for s in samples if s["answers"] >= 0.8 * n), None)
    result = dict(answers=answered, requests=last["requests"], wall=wall, latency=latency)
    if scenario["bound"] == "quota":
        window = 60 * scale
        quota = scenario["quota"]
        # Accepted per window: requests that passed the quota (injected faults come before it).
        by_window = {}
        for s in samples:
            by_window.setdefault(int(s["t"] // window), s)
        keys = sorted(by_window)
        accepted = []
        for a, b in zip(keys, keys[1:]):
            x, y = by_window[a], by_window[b]
            accepted.append((a, (y["requests"] - y["limited"] - y["faults"]) - (x["requests"] - x["limited"] - x["faults"])))
        rate = quota / window
        # The last request sent is answered a latency later.
        ideal = n / rate + (latency or 0)
        # Steady state on sends (answers lag them by minutes): from 20% to 80% of records accepted.
        def taken(s): return s["requests"] - s["limited"] - s["faults"]
        lo = next((s for s in samples if taken(s) >= 0.2 * n), None)
        hi = next((s for s in samples if taken(s) >= 0.8 * n), None)
        steady = [v for w, v in accepted if lo and hi and lo["t"] <= w * window and (w + 1) * window <= hi["t"]]
        share = sum(steady) / (len(steady) * quota) if steady else None
        first90 = next((w for w, v in accepted if v >= 0.9 * quota), None)
        to90 = (first90 + 1) * window if first90 is not None else None
    else:
        capacity = scenario["capacity"]
        spike = scenario.get("spike")
        ideal = n * latency / capacity if latency else None
        def outside(s):
            return not spike or not (spike[0] * scale <= s["t"] < (spike[1] + 60) * scale)
        steady = [s["in_service"] / s["capacity"] for s in samples if lo and hi and lo["t"] <= s["t"] <= hi["t"] and outside(s) and s["capacity"] == capacity]
        share = sum(steady) / len(steady) if steady else None
        start = spike[1] * scale if spike else 0
        hit = next((s for s in samples if s["t"] >= start and s["in_service"] >= 0.9 * capacity), None)
        to90 = hit["t"] - start if hit else None
    if lo and hi:
        dreq = hi["requests"] - lo["requests"]
        d429 = hi["status"].get("429", 0) - lo["status"].get("429", 0)
        d503 = hi["status"].get("503", 0) - lo["status"].get("503", 0)
        result["429"] = d429 / dreq if dreq else None
        result["503"] = d503 / dreq if dreq else None
    result.update(ideal=ideal, share=share, to90=(to90 / latency if to90 is not None and latency else None), whole_run=False)
    if share is None and wall > 0:
        # Never reached the steady range (a slow client cut by --timeout): answers per second
        # over the whole run, over the bound's rate (marked * in the table).
        bound = scenario["quota"] / (60 * scale) if scenario["bound"] == "quota" else (scenario["capacity"] / latency if latency else None)
        if bound:
            result.update(share=answered / wall / bound, whole_run=True)
    return result


def run_one(name, client, args):
    scenario = SCENARIOS[name]
    sim, port = start_sim(args, scenario["sim"])
    sampler = Sampler(port)
    rss = None
    try:
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "in.csv"), "w") as f:
                f.write("id\n" + "".join(f"{i}\n" for i in range(1, args.records + 1)))
            sampler.start()
            began = time.monotonic()
            p = run_sluice(port, args, d) if client == "sluice" else run_python(client, port, args)
            limit = began + args.timeout
            while p.poll() is None and time.monotonic() < limit:
                rss = peak_rss_mb(p.pid) or rss
                time.sleep(0.5)
            if p.poll() is None:
                p.kill()
            p.wait()
            wall = time.monotonic() - began
            time.sleep(0.2)
            sampler.stop.set()
            sampler.join()
            r = analyse(sampler.samples, scenario, args, wall, args.records)
            r["rss"] = rss
            return r
    finally:
        sim.terminate()
        sim.wait()


def fmt(v, spec, suffix=""):
    return "–" if v is None else format(v, spec) + suffix


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--scenarios", default="quota,capacity,spike,random503")
    ap.add_argument("--clients", default="sluice,loop,sdk")
    ap.add_argument("--workers", type=int, default=256, help="concurrency of the Python baselines")
    ap.add_argument("--timeout", type=float, default=600, help="most wall seconds per run")
    ap.add_argument("--sluice-flags", default="", help="extra flags for sluice run (default: none)")
    ap.add_argument("--tls", action="store_true", help="serve over TLS (HTTP/2 by ALPN); sluice only")
    args = ap.parse_args()
    args.sluice_flags = args.sluice_flags.split()
    if args.tls:
        if set(args.clients.split(",")) - {"sluice"}:
            ap.error("--tls measures sluice only (--clients sluice): the baselines speak cleartext HTTP/1.1")
        global CA_FILE
        CA_FILE = os.path.join(tempfile.mkdtemp(prefix="quota-bench-"), "ca.pem")
    print(f"records {args.records}, scale {args.scale}, baselines at {args.workers} workers{', TLS + HTTP/2' if args.tls else ''}\n")
    print("| scenario | client | answered | wall s | ideal s | time/ideal | steady share | to 90% (round trips) | 429 | 503 | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.scenarios.split(","):
        for client in args.clients.split(","):
            r = run_one(name, client, args)
            ratio = r["wall"] / r["ideal"] if r["ideal"] else None
            cut = r["answers"] < args.records
            label = {"sluice": "sluice (defaults)", "loop": f"docs' retry loop, {args.workers} workers", "sdk": f"google-genai, semaphore {args.workers}"}[client]
            print(f"| {name} | {label} | {r['answers']} | {'> ' if cut else ''}{r['wall']:.1f} | {fmt(r['ideal'], '.1f')} | {'> ' if cut else ''}{fmt(ratio, '.2f')} | "
                  f"{fmt(r['share'] and r['share'] * 100, '.1f', '%')}{'*' if r['whole_run'] else ''} | {fmt(r['to90'], '.2f')} | "
                  f"{fmt(r.get('429') and r['429'] * 100, '.2f', '%')} | {fmt(r.get('503') and r['503'] * 100, '.2f', '%')} | {fmt(r['rss'], '.0f')} |",
                  flush=True)


if __name__ == "__main__":
    main()
