#!/usr/bin/env python3
"""What packing buys: requests, input tokens, cost per 1,000 records, and the time of a job under
a 1,000 RPM quota, for --pack 1, 5, 10, 25 and auto.

Everything at one time scale (default 1/20, as quota_bench.py): Flex latencies 60/180/900 s,
the 60 s rate window, and sluice's clock. Quota: 1,000 requests and 1,000,000 input tokens per
minute. The template has ~200 tokens of instructions above its '{{! per record }}' line (said once
per request when packed) and a short record part. A fresh simulator per run; release build.

  python3 Benchmarks/pack_bench.py                       # 100,000 records, every pack size
  python3 Benchmarks/pack_bench.py --records 20000 --packs 1,10
"""
import argparse, json, os, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SLUICE_BIN", os.path.join(ROOT, ".build", "release", "sluice"))
INSTRUCTIONS = ("Classify the comment as ok, spam or abuse. Spam sells, links or repeats itself; abuse attacks a "
                "person; anything else is ok, however rude about things. Judge the text alone, not the user. ") * 3


def run(pack, args, directory):
    sim = subprocess.Popen([BIN, "simulate", "--port", "0", "--time-scale", str(args.scale), "--seed", "7", "--no-capture",
                            "--event-log-limit", "10", "--flex-latency", "60,180,900", "--rpm", "1000", "--tpm", "1000000",
                            "--flex-capacity", "200000", "--flex-queue", "200000"], stdout=subprocess.PIPE, text=True)
    port = sim.stdout.readline().split()[-1].rsplit(":", 1)[1]
    try:
        report = os.path.join(directory, f"report-{pack}.json")
        began = time.monotonic()
        p = subprocess.run([BIN, "run", os.path.join(directory, "in.csv"), "-t", os.path.join(directory, "t.md"),
                            "--endpoint", f"http://127.0.0.1:{port}", "--time-scale", str(args.scale), "--restart",
                            "-o", os.path.join(directory, f"out-{pack}.csv"), "--report", report, "--pack", pack],
                           env=dict(os.environ, GEMINI_API_KEY="sim-test-key"), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=args.timeout)
        wall = time.monotonic() - began
        if p.returncode != 0:
            raise SystemExit(f"--pack {pack}: exit {p.returncode}\n{p.stderr[-2000:]}")
        with open(report) as f:
            r = json.load(f)
        return r, wall
    finally:
        sim.terminate()
        sim.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--packs", default="1,5,10,25,auto")
    ap.add_argument("--timeout", type=float, default=1200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "in.csv"), "w") as f:
            f.write("id,comment\n")
            for i in range(1, args.records + 1):
                f.write(f'{i},"Comment {i}: great post, see my page for deals number {i % 997}"\n')
        with open(os.path.join(d, "t.md"), "w") as f:
            f.write(INSTRUCTIONS + "\n{{! per record }}\nComment {{id}}: {{comment}}\n")
        print(f"records {args.records}, scale {args.scale}, quota 1,000 RPM + 1,000,000 TPM\n")
        print("| --pack | requests | records per request | items sent again | input tokens per record | cost per 1,000 records | wall s (scaled) | in real time | vs --pack 1 |")
        print("|---|---|---|---|---|---|---|---|---|")
        first = None
        for pack in args.packs.split(","):
            r, wall = run(pack, args, d)
            n = args.records
            packs = r.get("packs", {})
            per = (packs.get("records", 0) / packs["requests"]) if packs.get("requests") else 1.0
            first = first or wall
            real = wall / args.scale
            print(f"| {pack} | {r['requests']} | {per:.1f} | {packs.get('resent_items', 0)} | {r['tokens']['input'] / n:.0f} | "
                  f"${r['cost_usd'] / n * 1000:.4f} | {wall:.1f} | {real / 3600:.1f} h | {first / wall:.1f}x faster |", flush=True)


if __name__ == "__main__":
    main()
