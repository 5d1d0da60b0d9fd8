#!/usr/bin/env python3
"""Read -> render -> write speed of every format, no model calls: the `--dry-run -o` path, which
reads each record, renders its prompt and writes the record with the prompt as a new column.
Beside it, the same work in Python with the standard `csv` and `json` modules.

  swift build -c release --product sluice
  python3 Benchmarks/formats_bench.py                  # 1,000,000 records of ~100 bytes
  python3 Benchmarks/formats_bench.py --memory 10000,1000000,10000000   # peak RSS by input size

MB/s counts uncompressed input bytes; µs per record is wall time / records. Peak RSS is the
child's maximum resident set (getrusage). Files are generated once into --dir.
"""
import argparse, csv, gzip, json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "sluice")
TEMPLATE = "Describe {{name}} in {{city}}: {{notes}}"
CITIES = ["Berlin", "Paris", "Lisbon", "Oslo"]


def row(i):
    name = f"Company {i:07d}"
    city = CITIES[i % 4]
    notes = "x" * (100 - len(f"{i},{name},{city},\n") - 2)
    return str(i), name, city, notes


def generate_csv(directory, n):
    """Only the CSV file (the memory series goes to 10 million records)."""
    path = os.path.join(directory, f"m{n}.csv")
    if not os.path.exists(path):
        with open(path, "w", newline="") as c:
            c.write("id,name,city,notes\n")
            for i in range(n):
                r = row(i)
                c.write(f'{r[0]},{r[1]},{r[2]},"{r[3]}"\n')
    return path


def generate_wide(directory, n):
    """Rows of ~1 KB: ten 95-character fields, every third quoted with a comma inside."""
    path = os.path.join(directory, f"wide{n}.csv")
    if not os.path.exists(path):
        letters = "abcdefghij klmnop"
        with open(path, "w", newline="") as f:
            f.write(",".join(f"f{i}" for i in range(10)) + "\n")
            for r in range(n):
                cells = []
                for i in range(10):
                    text = "".join(letters[(r * 7 + i * 13 + k * 5) % len(letters)] for k in range(95))
                    cells.append(f'"{text}, x"' if i % 3 == 0 else text)
                f.write(",".join(cells) + "\n")
    return path


def python_csv_wide(path, out):
    with open(path, newline="") as f, open(out, "w", newline="") as o:
        reader = csv.DictReader(f)
        writer = csv.writer(o)
        writer.writerow(reader.fieldnames + ["sluice_prompt"])
        for r in reader:
            writer.writerow(list(r.values()) + [f"Summarize {r['f1']} and {r['f2']}"])


def generate(directory, n):
    paths = {}
    base = os.path.join(directory, f"r{n}")
    if not os.path.exists(base + ".csv"):
        with open(base + ".csv", "w", newline="") as c, open(base + ".tsv", "w") as t, open(base + ".jsonl", "w") as j, open(base + ".xml", "w") as x:
            c.write("id,name,city,notes\n")
            t.write("id\tname\tcity\tnotes\n")
            x.write('<?xml version="1.0" encoding="UTF-8"?>\n<companies>\n')
            for i in range(n):
                r = row(i)
                c.write(f'{r[0]},{r[1]},{r[2]},"{r[3]}"\n')
                t.write("\t".join(r) + "\n")
                j.write(json.dumps({"id": r[0], "name": r[1], "city": r[2], "notes": r[3]}) + "\n")
                x.write(f'  <company id="{r[0]}"><name>{r[1]}</name><city>{r[2]}</city><notes>{r[3]}</notes></company>\n')
            x.write("</companies>\n")
    for ext in ("csv", "tsv", "jsonl", "xml"):
        paths[ext] = base + "." + ext
        gz = paths[ext] + ".gz"
        if not os.path.exists(gz):
            with open(paths[ext], "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        paths[ext + ".gz"] = gz
    return paths


# A fresh interpreter per measured command: RUSAGE_CHILDREN keeps the maximum of all children.
MEASURE = ("import resource,subprocess,sys,time;s=time.perf_counter();"
           "subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
           "print(time.perf_counter()-s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def timed(cmd):
    """(wall seconds, peak RSS in KB) of `cmd`."""
    out = subprocess.run([sys.executable, "-c", MEASURE] + cmd, check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def sluice(path, out, template):
    return timed([BIN, "run", path, "-t", template, "--dry-run", "-o", out, "--journal", out + ".journal"])


def python_csv(path, out, delimiter):
    with open(path, newline="") as f, open(out, "w", newline="") as o:
        reader = csv.DictReader(f, delimiter=delimiter)
        writer = csv.writer(o, delimiter=delimiter)
        writer.writerow(reader.fieldnames + ["sluice_prompt"])
        for r in reader:
            prompt = f"Describe {r['name']} in {r['city']}: {r['notes']}"
            writer.writerow(list(r.values()) + [prompt])


def python_json(path, out):
    with open(path) as f, open(out, "w") as o:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            r["sluice_prompt"] = f"Describe {r['name']} in {r['city']}: {r['notes']}"
            o.write(json.dumps(r) + "\n")


def python_timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main():
    global BIN
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--bin", default=BIN, help="the sluice binary (default: .build/release/sluice)")
    p.add_argument("--dir", default="/tmp/sluice-formats-bench")
    p.add_argument("--memory", default="", help="record counts for the peak-RSS series (CSV)")
    p.add_argument("--memory-only", action="store_true", help="only the peak-RSS series")
    p.add_argument("--wide", type=int, default=100_000, help="rows of ~1 KB for the byte-throughput table (0: skip)")
    args = p.parse_args()
    BIN = os.path.abspath(args.bin)
    os.makedirs(args.dir, exist_ok=True)
    template = os.path.join(args.dir, "t.md")
    with open(template, "w") as f:
        f.write(TEMPLATE + "\n")
    n = args.records
    if args.memory_only:
        args.records = 0
    paths = generate(args.dir, n) if not args.memory_only else {}
    print(f"{n} records, template {TEMPLATE!r}, output in the input's format\n")
    print("| input | size MB | sluice s | sluice MB/s | sluice µs/record | peak RSS MB | Python s | Python MB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for key in [] if args.memory_only else ("csv", "csv.gz", "tsv", "tsv.gz", "jsonl", "jsonl.gz", "xml", "xml.gz"):
        plain = paths[key.replace(".gz", "")]
        size = os.path.getsize(plain) / 1e6
        out = os.path.join(args.dir, "out." + key)
        wall, rss = sluice(paths[key], out, template)
        py = ""
        ext = key.split(".")[0]
        if key == "csv":
            t = python_timed(python_csv, plain, out + ".py", ",")
            py = f"{t:.2f} | {size / t:.0f}"
        elif key == "tsv":
            t = python_timed(python_csv, plain, out + ".py", "\t")
            py = f"{t:.2f} | {size / t:.0f}"
        elif key == "jsonl":
            t = python_timed(python_json, plain, out + ".py")
            py = f"{t:.2f} | {size / t:.0f}"
        else:
            py = "– | –"
        print(f"| {key} | {size:.0f} | {wall:.2f} | {size / wall:.0f} | {wall / n * 1e6:.2f} | {rss / 1024:.0f} | {py} |", flush=True)
        for leftover in (out, out + ".py", out + ".journal"):
            if os.path.exists(leftover):
                os.remove(leftover)
    if args.wide and not args.memory_only:
        wide = generate_wide(args.dir, args.wide)
        wide_template = os.path.join(args.dir, "wide.md")
        with open(wide_template, "w") as f:
            f.write("Summarize {{f1}} and {{f2}}\n")
        size = os.path.getsize(wide) / 1e6
        out = os.path.join(args.dir, "wide-out.csv")
        wall, rss = timed([BIN, "run", wide, "-t", wide_template, "--dry-run", "-o", out, "--journal", out + ".journal"])
        t = python_timed(python_csv_wide, wide, out + ".py")
        print(f"\nWide rows: {args.wide} rows of ~1 KB (10 fields, every third quoted with a comma inside)\n")
        print("| input | size MB | sluice s | sluice MB/s | sluice µs/record | peak RSS MB | Python s | Python MB/s |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| csv, 1 KB rows | {size:.0f} | {wall:.2f} | {size / wall:.0f} | {wall / args.wide * 1e6:.2f} | {rss / 1024:.0f} | {t:.2f} | {size / t:.0f} |", flush=True)
        for leftover in (out, out + ".py"):
            if os.path.exists(leftover):
                os.remove(leftover)
    if args.memory:
        print("\n| records | input MB | wall s | peak RSS MB |")
        print("|---|---|---|---|")
        for count in [int(c) for c in args.memory.split(",")]:
            mp = generate_csv(args.dir, count)
            out = os.path.join(args.dir, "mem-out.csv")
            wall, rss = timed([BIN, "run", mp, "-t", template, "--dry-run", "-o", out, "--journal", out + ".journal"])
            print(f"| {count:,} | {os.path.getsize(mp) / 1e6:.0f} | {wall:.2f} | {rss / 1024:.0f} |", flush=True)
            os.remove(out)


if __name__ == "__main__":
    main()
