#!/usr/bin/env python3
"""Goodput and waste of Flex dispatch against the simulator's Flex model.

For each client (sluice's adaptive dispatcher; the fixed-concurrency retry loop of the Gemini
docs, 5 s x 2^n backoff, at two concurrencies) a fresh simulator is started with a fixed Flex
capacity and latency distribution, N records are enriched, and /_sim/stats is sampled:

  goodput = answers per second while the job is in steady state (10%..90% of answers), as a
            fraction of capacity (capacity / mean service time measured by the simulator);
  waste   = shed + rate-limited requests as a fraction of all requests.

All delays of the baseline are scaled by the simulator's --time-scale, like Flex latencies, so
the comparison holds at real time. Loopback only; every loop is bounded by --timeout.
"""
import argparse, asyncio, json, os, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "sluice")


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats", timeout=10) as r:
        return json.load(r)


def start_sim(args):
    p = subprocess.Popen([BIN, "simulate", "--port", "0", "--time-scale", str(args.time_scale), "--flex-capacity", str(args.capacity),
                          "--flex-queue", str(args.queue), "--seed", "7", "--no-capture", "--event-log-limit", "10"],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    port = int(line.rsplit(":", 1)[1])
    return p, port


async def fixed_loop(port, n, workers, base_delay, timeout):
    """The Gemini docs' pattern: N workers; on 429/503 sleep base * 2^attempt and retry."""
    queue = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def one(i):
        body = json.dumps({"model": "gemini-3-flash-preview", "input": f"Record {i}: classify this company.",
                           "service_tier": "flex", "store": False}).encode()
        attempt = 0
        while True:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /v1beta/interactions HTTP/1.1\r\nHost: x\r\nx-goog-api-key: sim-test-key\r\ncontent-type: application/json\r\n"
                         b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            await reader.read()
            writer.close()
            if status == 200:
                return
            await asyncio.sleep(base_delay * (2 ** attempt))
            attempt += 1

    async def worker():
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(i)

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(workers))), timeout)


def run_sluice(port, n, args, directory):
    path = os.path.join(directory, "in.csv")
    with open(path, "w") as f:
        f.write("id\n" + "".join(f"{i}\n" for i in range(n)))
    with open(os.path.join(directory, "t.md"), "w") as f:
        f.write("Record {{id}}: classify this company.")
    env = dict(os.environ, GEMINI_API_KEY="sim-test-key")
    return subprocess.Popen([BIN, "run", path, "-t", os.path.join(directory, "t.md"), "--endpoint", f"http://127.0.0.1:{port}",
                             "--concurrency", str(args.sluice_concurrency), "--restart",
                             "--retry-base-delay", str(2 * args.time_scale * 100 / 100), "--retry-max-delay", str(120 * args.time_scale),
                             "--report", os.path.join(directory, "report.json")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(name, args, launch):
    sim, port = start_sim(args)
    samples = []
    try:
        t0 = time.monotonic()
        handle = launch(port)
        while time.monotonic() - t0 < args.timeout:
            s = stats(port)
            samples.append((time.monotonic() - t0, s["totals"]["answers"]))
            if s["totals"]["answers"] >= args.records:
                break
            if hasattr(handle, "poll") and handle.poll() is not None and s["totals"]["answers"] < args.records:
                break
            if hasattr(handle, "done") and handle.done():
                break
            time.sleep(0.25)
        wall = time.monotonic() - t0
        final = stats(port)
    finally:
        if hasattr(handle, "wait"):
            handle.wait(timeout=60)
        sim.terminate()
        sim.wait()
    t = final["totals"]
    mean_service = final["service_seconds_by_tier"].get("flex", 0) / max(1, t["answers"])
    capacity_rate = args.capacity / mean_service if mean_service else float("nan")
    lo, hi = 0.1 * args.records, 0.9 * args.records
    t_lo = next((ts for ts, a in samples if a >= lo), None)
    t_hi = next((ts for ts, a in samples if a >= hi), None)
    steady = (hi - lo) / (t_hi - t_lo) if t_lo is not None and t_hi and t_hi > t_lo else float("nan")
    waste = (t["shed"] + t["rate_limited"]) / max(1, t["requests"])
    return {"client": name, "answers": t["answers"], "requests": t["requests"], "shed": t["shed"], "wall_s": round(wall, 1),
            "goodput": round(steady / capacity_rate, 3), "waste": round(waste, 3)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--capacity", type=int, default=50)
    p.add_argument("--queue", type=int, default=50)
    p.add_argument("--time-scale", type=float, default=0.01)
    p.add_argument("--sluice-concurrency", type=int, default=400)
    p.add_argument("--fixed", default="32,400", help="fixed-loop concurrencies to compare")
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows.append(measure(f"sluice (adaptive, ceiling {args.sluice_concurrency})", args, lambda port: run_sluice(port, args.records, args, d)))
    for n in [int(x) for x in args.fixed.split(",")]:
        def launch(port, n=n):
            loop = asyncio.new_event_loop()
            import threading
            fut = {"done": False}
            def go():
                try:
                    loop.run_until_complete(fixed_loop(port, args.records, n, 5 * args.time_scale, args.timeout))
                finally:
                    fut["done"] = True
            th = threading.Thread(target=go, daemon=True)
            th.start()
            class H:
                def done(self): return fut["done"]
                def wait(self, timeout=None): th.join(timeout)
            return H()
        rows.append(measure(f"fixed loop, {n} workers, 5 s x 2^n", args, launch))
    print(f"capacity {args.capacity} in service + {args.queue} queued, Flex latency 60-180-900 s x {args.time_scale}, {args.records} records")
    print("| client | answers | requests | shed | wall s | goodput (of capacity) | waste |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['client']} | {r['answers']} | {r['requests']} | {r['shed']} | {r['wall_s']} | {r['goodput']:.0%} | {r['waste']:.1%} |")


if __name__ == "__main__":
    main()
