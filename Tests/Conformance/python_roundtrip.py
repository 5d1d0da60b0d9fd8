#!/usr/bin/env python3
"""Sluice against Python's own readers and writers: a seeded property test.

Each case writes one file with Python's `csv`, `json` or `xml.etree` writer (a random dialect,
encoding and shape), runs the built `sluice` binary over it the way a user would, and compares
what Sluice produced with what Python reads from the same input:

  * reading: `--dry-run -o out.jsonl` writes every record as Sluice read it (native JSON), which
    must equal Python's reading mapped by Sluice's documented field rules;
  * writing: `--dry-run -o out.<same format>` must read back (with Python) as the input plus the
    `sluice_prompt` column, whose text is the template rendered from Python's reading;
  * a full run: every few cases, `sluice run` against `sluice simulate` (no latency) must give
    the input back with an answer column and an empty `sluice_error`.

A case may be refused only where Sluice documents a refusal (exit 65 with a message naming the
reason: UTF-16 CSV, bytes that are not UTF-8, NaN in JSON, an unpaired surrogate escape, a
delimiter the sniffer cannot tell). Anything else — a different cell, an unexpected exit code, a
crash — is a failure; the case is kept under --keep with a line to reproduce it.

  python3 Tests/Conformance/python_roundtrip.py --sluice .build/debug/sluice --seconds 60
  python3 Tests/Conformance/python_roundtrip.py --sluice .build/debug/sluice --seconds 3600 --seed 7
  python3 Tests/Conformance/python_roundtrip.py --sluice .build/debug/sluice --case 1234   # one case again
"""
import argparse
import codecs
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET

PROMPT = "sluice_prompt"
ANSWER = "t"  # the template file is t.md, so the answer column is t
SEPARATOR = "\u241f"  # between rendered fields; printable, so legal in XML too


class Refused(Exception):
    """Sluice refused the file, as documented for this case."""


class Mismatch(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Random shapes

PIECES = [
    "a", "b", "Z", "0", "7", "42", "-3.5", "1e9", " ", "  ", "x y", "word", "Hello, world",
    ",", ";", "|", "\t", ":", '"', "'", '""', "\n", "\r\n", "\r", "#", "\\", "{", "}", "[", "]",
    "é", "ß", "ü", "ñ", "日本語", "Ω", "€", "😀", "👩‍💻", "e\u0301", "\u00a0", "\u2028", "\ufeff",
    "<", ">", "&", "&amp;", "]]>", "null", "true", "=1+1", "NA", "",
]
XML_UNSAFE = {"\ufeff"}  # legal, but a BOM inside text is a needless hazard for comparisons


def text(rng, max_pieces=6, allow=lambda p: True):
    n = rng.choice([0, 1, 1, 2, 3, max_pieces, rng.randint(0, 3 * max_pieces)])
    pieces = [p for p in PIECES if allow(p)]
    s = "".join(rng.choice(pieces) for _ in range(n))
    if rng.random() < 0.02:
        s += "".join(rng.choice("abc ,\"\n") for _ in range(rng.randint(500, 5000)))
    return s


def safe_name(rng, used):
    """A field name Mustache can address as written: ASCII letters, digits, underscore."""
    while True:
        name = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(rng.randint(0, 8)))
        if name not in used and not name.startswith("column_") and name not in (PROMPT, ANSWER, "sluice_error"):
            used.add(name)
            return name


def header_name(rng, used):
    roll = rng.random()
    if roll < 0.55:
        return safe_name(rng, used)
    if roll < 0.65:
        return ""  # blank: column_N in templates, written back as spelled
    while True:  # anything else: spaces, punctuation, quotes, unicode
        name = text(rng, 3, allow=lambda p: p not in ("\n", "\r\n", "\r", "", "\ufeff"))
        key = re.sub(r"[^A-Za-z0-9_-]", "_", name)
        canonical = unicodedata.normalize("NFC", name)  # Sluice compares names canonically, and refuses such twins
        if name and "\n" not in name and "\r" not in name and canonical not in used and key not in used and not key.startswith("column_") and key not in (PROMPT, ANSWER, "sluice_error", "_record"):
            used.add(canonical)
            used.add(key)
            return name


# ---------------------------------------------------------------------------------------------
# Running sluice

class Runner:
    def __init__(self, sluice, endpoint):
        self.sluice = sluice
        self.endpoint = endpoint

    def run(self, args, cwd, timeout=120):
        env = dict(os.environ, GEMINI_API_KEY="sim-test-key")
        for k in ("GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
            env.pop(k, None)
        p = subprocess.run([self.sluice] + args, cwd=cwd, env=env, capture_output=True, timeout=timeout)
        return p.returncode, p.stderr.decode("utf-8", "replace")


def check_exit(rc, err, refusals, what):
    """0 is a read; 65 is a refusal that must be one documented for the case ([(label, regex)])."""
    if rc == 0:
        return
    for label, pattern in refusals or []:
        if rc == 65 and re.search(pattern, err):
            raise Refused(label)
    expected = " or ".join(f"a refusal matching {p!r}" for _, p in refusals or []) or "0"
    raise Mismatch(f"{what}: exit {rc}{' (a signal)' if rc < 0 else ''}; expected {expected}\n{err[-2000:]}")


def render(template_fields, values):
    """The case's template, rendered the way Sluice documents it."""
    return "P:" + "".join(SEPARATOR + values[f] for f in template_fields)


def template_text(template_fields):
    return "P:" + "".join(SEPARATOR + "{{" + f + "}}" for f in template_fields)


def same(label, got, want):
    if got != want:
        raise Mismatch(f"{label}:\n  sluice: {got!r}\n  python: {want!r}"[:4000])


# ---------------------------------------------------------------------------------------------
# CSV

def csv_case(rng, runner, work, full_run):
    delimiter = rng.choice([",", ",", ",", "\t", ";", "|", ":", "#"])
    quotechar = rng.choice(['"', '"', '"', "'"])
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, "none"])
    terminator = rng.choice(["\r\n", "\r\n", "\n", "\r"])
    encoding = rng.choice(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1"])
    has_header = rng.random() < 0.9
    explicit = delimiter in ":#" or quotechar != '"' or quoting == "none" or rng.random() < 0.3
    columns = rng.choice([1, 1, 2, 3, 5, 8, rng.randint(1, 60)])
    rows_n = rng.choice([0, 1, 2, 5, 20, rng.randint(0, 200)])
    if not has_header and rows_n == 0:
        rows_n = 1

    used = set()
    header = [header_name(rng, used) for _ in range(columns)] if has_header else None
    if header == [""]:
        header = [safe_name(rng, used)]  # a lone blank header line is a blank line to every reader

    def cell():
        if quoting == "none":  # no quoting at all: nothing that would need it
            return text(rng, allow=lambda p: not any(c in p for c in (delimiter, quotechar, "\n", "\r", "\ufeff")))
        if quoting == csv.QUOTE_NONNUMERIC and rng.random() < 0.3:
            return rng.choice([0, 1, -2, 3.25, 1e-7, 12345678901234567890])
        return text(rng, allow=lambda p: p != "\ufeff")

    rows = [[cell() for _ in range(columns)] for _ in range(rows_n)]
    if has_header and quoting == "none":
        header = [h if not any(c in h for c in (delimiter, quotechar)) else safe_name(rng, used) for h in header]

    buf = io.StringIO(newline="")
    if quoting == "none":
        w = csv.writer(buf, delimiter=delimiter, quotechar=None, quoting=csv.QUOTE_NONE, lineterminator=terminator)
    else:
        w = csv.writer(buf, delimiter=delimiter, quotechar=quotechar, quoting=quoting, lineterminator=terminator)
    try:
        if header is not None:
            w.writerow(header)
        for r in rows:
            w.writerow(r)
    except csv.Error:  # e.g. QUOTE_NONE cannot write a lone empty field: another shape
        return csv_case(rng, runner, work, full_run)
    data = buf.getvalue()
    raw = data.encode(encoding, "strict") if encoding != "latin-1" else data.encode("latin-1", "replace")
    path = os.path.join(work, "in.csv")
    with open(path, "wb") as f:
        f.write(raw)

    # What Python reads from those bytes.
    # Latin-1 bytes are not UTF-8: refused, or with --invalid-utf8 replace read as Python's
    # decode("utf-8", "replace") reads them (one U+FFFD per maximal ill-formed subsequence).
    replace = encoding == "latin-1" and raw != data.encode("utf-8") and rng.random() < 0.5
    if replace:
        decoded = raw.decode("utf-8", "replace")
    else:
        decoded = raw.decode({"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[encoding])
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter,
                        quotechar=quotechar if quoting != "none" else None,
                        quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL)
    table = [r for r in reader if r != []]
    if has_header:
        py_header, py_rows = table[0], table[1:]
    else:
        py_header, py_rows = None, table
    # Without a header the fields are named by the first row (as Python reads it).
    keys = [(h if h else f"column_{i + 1}") for i, h in enumerate(py_header)] if py_header is not None else [f"column_{i + 1}" for i in range(len(py_rows[0]) if py_rows else columns)]
    records = [dict(zip(keys, r)) for r in py_rows]
    # Python's writer leaves a lone \r (or \n) unquoted when the line terminator is the other
    # one, and its reader then splits the row: a ragged file, which Sluice must refuse.
    width = len(py_header) if py_header is not None else (len(py_rows[0]) if py_rows else 0)
    ragged = any(len(r) != width for r in py_rows)

    template_fields = [k for k in keys if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", k)][: rng.randint(0, 6)]
    with open(os.path.join(work, "t.md"), "w", encoding="utf-8") as f:
        f.write(template_text(template_fields))

    # One column shows no delimiter: a line like "a|b" is as much two pipe-separated fields as
    # one comma-separated one, and the sniffer rightly takes the reading with more fields. Such
    # files say their dialect.
    if columns == 1 and any(c in data for c in ",\t;|"):
        explicit = True
    args = ["run", "in.csv", "-t", "t.md", "--dry-run"]
    if explicit:
        args += ["--delimiter", delimiter, "--quote", "none" if quoting == "none" else quotechar]
    if not has_header:
        args += ["--no-header"]
    if replace:
        args += ["--invalid-utf8", "replace"]

    refusals = []
    if encoding == "utf-16":
        refusals.append(("CSV in UTF-16", r"UTF-16"))
    elif encoding == "latin-1" and raw != data.encode("utf-8") and not replace:
        refusals.append(("CSV in Latin-1 (not UTF-8)", r"UTF-8"))
    if ragged:
        refusals.append(("ragged rows (Python's reader splits them too)", r"expected \d+ fields as in the (header|first row)"))
    if not explicit:
        refusals.append(("sniffing: no single dialect fits, --delimiter asked for", r"--delimiter"))  # it may ask; it must never guess wrong
    desc = f"csv delimiter={delimiter!r} quote={quotechar!r} quoting={quoting} eol={terminator!r} enc={encoding}{'+replace' if replace else ''} header={has_header} explicit={explicit} cols={columns} rows={rows_n}"

    # Reading: every record as Sluice read it.
    rc, err = runner.run(args + ["-o", "read.jsonl"], work)
    check_exit(rc, err, refusals, "reading")
    got = read_jsonl(os.path.join(work, "read.jsonl"))
    same("record count", len(got), len(records))
    for i, (g, want) in enumerate(zip(got, records)):
        want = dict(want, **{PROMPT: render(template_fields, want)})
        same(f"record {i + 1} (as read)", list(g.items()), list(want.items()))

    # Writing: CSV back, same delimiter, RFC 4180 quotes where needed.
    rc, err = runner.run(args + ["-o", "out.csv"], work)
    check_exit(rc, err, [], "writing")
    with open(os.path.join(work, "out.csv"), "rb") as f:
        out = f.read().decode("utf-8")
    # A one-column file shows no delimiter: sniffed, it is written with commas.
    out_delimiter = delimiter if explicit or columns > 1 else ","
    back = [r for r in csv.reader(io.StringIO(out, newline=""), delimiter=out_delimiter, quotechar='"') if r != []]
    want_header = (py_header if py_header is not None else keys) + [PROMPT]
    if back or records or has_header:
        same("output header", back[0] if back else None, want_header)
    if has_header and not explicit:  # the header as the input spelled it (header cells hold no line breaks)
        first_line = decoded.lstrip("\ufeff").split(terminator, 1)[0]
        same("output header bytes", out[: len(first_line) + 1], first_line + out_delimiter)
    same("output rows", back[1:], [list(r.values()) + [render(template_fields, r)] for r in records])

    if full_run and records:
        rc, err = runner.run(["run", "in.csv", "-t", "t.md", "--endpoint", runner.endpoint, "-o", "full.csv"] + args[5:], work)
        check_exit(rc, err, [], "full run")
        with open(os.path.join(work, "full.csv"), "rb") as f:
            full = [r for r in csv.reader(io.StringIO(f.read().decode("utf-8"), newline=""), delimiter=out_delimiter) if r != []]
        same("full run header", full[0], (py_header if py_header is not None else keys) + [ANSWER, "sluice_error"])
        for i, (row, want) in enumerate(zip(full[1:], records)):
            same(f"full run row {i + 1}", row[:-2], list(want.values()))
            if not row[-2] or row[-1]:
                raise Mismatch(f"full run row {i + 1}: answer {row[-2]!r}, sluice_error {row[-1]!r}")
        same("full run rows", len(full) - 1, len(records))
    return desc


def read_jsonl(path, **hooks):
    with open(path, "rb") as f:
        return [json.loads(line, object_pairs_hook=dict, **hooks) for line in f.read().decode("utf-8").split("\n") if line.strip()]


# ---------------------------------------------------------------------------------------------
# JSON Lines

class Num(str):
    """A JSON number kept as spelled: Sluice promises number spelling survives."""


def spelled(s):
    return Num(s)


def json_value(rng, depth, ensure_ascii, specials):
    roll = rng.random()
    if depth < 4 and roll < 0.12:
        return [json_value(rng, depth + 1, ensure_ascii, specials) for _ in range(rng.randint(0, 4))]
    if depth < 4 and roll < 0.24:
        return {json_key(rng): json_value(rng, depth + 1, ensure_ascii, specials) for _ in range(rng.randint(0, 4))}
    if roll < 0.34:
        return rng.choice([0, -1, 7, 2 ** 53 + 1, -(2 ** 70), 10 ** 30])
    if roll < 0.44:
        return rng.choice([0.5, -0.0, 1e-7, 1.7976931348623157e308, 5e-324, 3.14159, -2.5e-300, 1e16, rng.random()])
    if roll < 0.48:
        return rng.choice([True, False, None])
    if specials and roll < 0.50:
        return rng.choice([float("nan"), float("inf"), "\ud800", "a\udc00b"])
    return text(rng, allow=lambda p: True) + ("".join(chr(rng.randint(0, 0x1f)) for _ in range(rng.randint(0, 2))) if rng.random() < 0.1 else "")


def json_key(rng):
    return rng.choice([text(rng, 2), "a", "b", "x y", "@id", "ü", "", "_text", "a.b"])


def jsonl_case(rng, runner, work, full_run):
    ensure_ascii = rng.random() < 0.5
    specials = rng.random() < 0.1
    separators = rng.choice([None, (",", ":")])
    bom = rng.random() < 0.1
    crlf = rng.random() < 0.2
    blank_lines = rng.random() < 0.2
    n = rng.choice([1, 2, 5, 30, rng.randint(0, 100)])
    used = set()
    names = [safe_name(rng, used) for _ in range(rng.randint(0, 4))]
    objects = []
    for _ in range(n):
        obj = {}
        for name in names:
            if rng.random() < 0.85:
                obj[name] = text(rng) if rng.random() < 0.8 else json_value(rng, 2, ensure_ascii, False)
        for _ in range(rng.randint(0, 5)):
            obj[json_key(rng)] = json_value(rng, 1, ensure_ascii, specials)
        obj.pop(PROMPT, None)
        obj.pop(ANSWER, None)
        obj.pop("sluice_error", None)
        objects.append(obj)
    lines = []
    for obj in objects:
        lines.append(json.dumps(obj, ensure_ascii=ensure_ascii, separators=separators))
        if blank_lines and rng.random() < 0.3:
            lines.append(rng.choice(["", "  ", "\t"]))
    eol = "\r\n" if crlf else "\n"
    data = eol.join(lines) + (eol if rng.random() < 0.8 else "")
    try:
        raw = data.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written raw (ensure_ascii off): not UTF-8, not JSON Lines
        return jsonl_case(rng, runner, work, full_run)
    if bom:
        raw = codecs.BOM_UTF8 + raw
    with open(os.path.join(work, "in.jsonl"), "wb") as f:
        f.write(raw)

    # Python's reading, numbers as spelled.
    py = [json.loads(line, object_pairs_hook=dict, parse_float=spelled, parse_int=spelled) for line in raw.decode("utf-8-sig").split("\n") if line.strip(" \t\r")]
    template_fields = [k for k in names if all(isinstance(o.get(k), str) and not isinstance(o.get(k), Num) for o in py)][: rng.randint(0, 4)]
    with open(os.path.join(work, "t.md"), "w", encoding="utf-8") as f:
        f.write(template_text(template_fields))

    refusal = []
    if specials and re.search(r"\bNaN\b|\bInfinity\b", data):
        refusal.append(("NaN or Infinity (not JSON)", r"not valid JSON: unexpected character"))
    if specials and re.search(r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}", data):
        refusal.append(("an unpaired surrogate escape", r"unpaired surrogate"))
    desc = f"jsonl ensure_ascii={ensure_ascii} separators={separators} bom={bom} crlf={crlf} blank={blank_lines} specials={specials} n={n}"

    rc, err = runner.run(["run", "in.jsonl", "-t", "t.md", "--dry-run", "-o", "out.jsonl"], work)
    check_exit(rc, err, refusal, "reading")
    got = read_jsonl(os.path.join(work, "out.jsonl"), parse_float=spelled, parse_int=spelled)
    same("record count", len(got), len(py))
    for i, (g, want) in enumerate(zip(got, py)):
        want = dict(want, **{PROMPT: render(template_fields, want)})
        same(f"record {i + 1}", jsonable(g), jsonable(want))

    if full_run and py:
        rc, err = runner.run(["run", "in.jsonl", "-t", "t.md", "--endpoint", runner.endpoint, "-o", "full.jsonl"], work)
        check_exit(rc, err, [], "full run")
        full = read_jsonl(os.path.join(work, "full.jsonl"), parse_float=spelled, parse_int=spelled)
        same("full run records", len(full), len(py))
        for i, (g, want) in enumerate(zip(full, py)):
            answer = g.pop(ANSWER, None)
            if not isinstance(answer, str) or not answer or "sluice_error" in g:
                raise Mismatch(f"full run record {i + 1}: {g}")
            same(f"full run record {i + 1}", jsonable(g), jsonable(want))
    return desc


def jsonable(v):
    """Key order and number spelling made comparable (a Num is not equal to a plain str)."""
    if isinstance(v, dict):
        return [("{}", k, jsonable(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, Num):
        return ("number", str(v))
    return v


# ---------------------------------------------------------------------------------------------
# XML

NAMESPACES = {"x": "urn:example:x", "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#"}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def xml_text(rng):
    return text(rng, allow=lambda p: p not in XML_UNSAFE)


def xml_name(rng, used, allow_ns=True):
    roll = rng.random()
    if allow_ns and roll < 0.1:
        prefix = rng.choice(list(NAMESPACES))
        return f"{{{NAMESPACES[prefix]}}}" + safe_name(rng, used)
    if roll < 0.2:
        name = rng.choice(["données", "名前", "a-b", "a.b", "_u"]) + str(rng.randint(0, 99))
        if name not in used:
            used.add(name)
            return name
    return safe_name(rng, used)


def qname(tag):
    """ElementTree's {uri}local as the document spells it (the prefixes registered above)."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        prefix = next(p for p, u in NAMESPACES.items() if u == uri)
        return f"{prefix}:{local}"
    return tag


def child_element(rng, parent, name, depth):
    e = ET.SubElement(parent, name)
    roll = rng.random()
    if roll < 0.15:
        for _ in range(rng.randint(1, 3)):
            e.set(xml_name(rng, set(), allow_ns=False), xml_text(rng))
    if depth < 3 and roll > 0.85:
        used = set()
        for _ in range(rng.randint(1, 3)):
            child_element(rng, e, xml_name(rng, used), depth + 1)
    if rng.random() < 0.85:
        e.text = xml_text(rng)
    return e


def xml_case(rng, runner, work, full_run):
    encoding = rng.choice(["utf-8"] * 5 + ["us-ascii", "utf-16", "iso-8859-1", "cp1252", "utf-8-bom"])
    used = set()
    root = ET.Element(xml_name(rng, used, allow_ns=False))
    record = xml_name(rng, used, allow_ns=False)
    n = rng.choice([1, 2, 3, 10, rng.randint(1, 60)])
    if rng.random() < 0.3:
        meta = ET.SubElement(root, "meta" if "meta" not in used else "meta_")
        meta.text = xml_text(rng)
    child_names = [xml_name(rng, used) for _ in range(rng.randint(0, 5))]
    for _ in range(n):
        r = ET.SubElement(root, record)
        if rng.random() < 0.3:
            r.set("id", xml_text(rng))
        if rng.random() < 0.1:
            r.set(f"{{{NAMESPACES['x']}}}weight", str(rng.randint(0, 9)))
        names = child_names[:]
        rng.shuffle(names)
        for name in names:
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                child_element(rng, r, name, 1)
        if rng.random() < 0.05:
            r.append(ET.Comment(" note " + str(rng.randint(0, 9)) + " "))
        if rng.random() < 0.05:
            r.append(ET.ProcessingInstruction("pi", "data"))
        if rng.random() < 0.1:
            r.text = xml_text(rng)
    if rng.random() < 0.5:
        ET.indent(root, space=rng.choice(["  ", "\t", " "]))
    tree = ET.ElementTree(root)
    buf = io.BytesIO()
    if encoding == "utf-8-bom":
        tree.write(buf, encoding="utf-8", xml_declaration=rng.random() < 0.5)
        raw = codecs.BOM_UTF8 + buf.getvalue()
    else:
        tree.write(buf, encoding=encoding, xml_declaration=True)
        raw = buf.getvalue()
    with open(os.path.join(work, "in.xml"), "wb") as f:
        f.write(raw)

    # Python's reading, mapped by Sluice's rules.
    try:
        parsed = ET.fromstring(raw, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True)))
    except ET.ParseError:  # expat cannot read every cp1252 file Python writes: nothing to compare with
        return xml_case(rng, runner, work, full_run)
    records = [fields_of(e) for e in parsed if e.tag == record]
    plain = [qname(c) for c in child_names if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", c)]
    template_fields = [c for c in plain if all(isinstance(r.get(c), str) for r in records)][: rng.randint(0, 3)]
    with open(os.path.join(work, "t.md"), "w", encoding="utf-8") as f:
        f.write(template_text(template_fields))
    desc = f"xml encoding={encoding} records={n} children={len(child_names)}"

    args = ["run", "in.xml", "-t", "t.md", "--dry-run", "--record-element", record]
    rc, err = runner.run(args + ["-o", "read.jsonl"], work)
    check_exit(rc, err, [], "reading")
    got = read_jsonl(os.path.join(work, "read.jsonl"))
    same("record count", len(got), len(records))
    for i, (g, want) in enumerate(zip(got, records)):
        want = dict(want, **{PROMPT: render(template_fields, {k: v for k, v in want.items() if isinstance(v, str)})})
        same(f"record {i + 1} (as read)", jsonable(g), jsonable(want))

    rc, err = runner.run(args + ["-o", "out.xml"], work)
    check_exit(rc, err, [], "writing")
    with open(os.path.join(work, "out.xml"), "rb") as f:
        out = f.read()
    if out.startswith(b"<?xml") and b'encoding="UTF-8"' not in out.split(b"?>", 1)[0]:
        raise Mismatch(f"output declaration: {out[:80]!r}")
    back = ET.fromstring(out, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True)))
    expected = ET.fromstring(raw, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True)))
    for e, want in zip([e for e in expected if e.tag == record], records):
        p = ET.SubElement(e, PROMPT)
        p.text = render(template_fields, {k: v for k, v in want.items() if isinstance(v, str)})
    same("output document", shape(back), shape(expected))

    if full_run:
        rc, err = runner.run(["run", "in.xml", "-t", "t.md", "--endpoint", runner.endpoint, "--record-element", record, "-o", "full.xml"], work)
        check_exit(rc, err, [], "full run")
        with open(os.path.join(work, "full.xml"), "rb") as f:
            full = ET.fromstring(f.read(), parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True)))
        expected = ET.fromstring(raw, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True)))
        for e, g in zip([e for e in expected if e.tag == record], [e for e in full if e.tag == record]):
            answer = g.find(ANSWER)
            if answer is None or not answer.text:
                raise Mismatch(f"full run: a record without its answer: {ET.tostring(g)[:300]!r}")
            g.remove(answer)
        same("full run document", shape(full), shape(expected))
    return desc


def fields_of(e):
    """Sluice's documented mapping: attributes (xmlns excluded; @name when a child shares the
    name), then children by name (repeated → array; with attributes or children → object with
    its text under _text when not blank), plain text otherwise."""
    return value_of(e, top=True)


def value_of(e, top=False):
    children = {}
    order = []
    for c in e:
        if not isinstance(c.tag, str):
            continue  # comment or PI
        name = qname(c.tag)
        v = value_of(c)
        if name in children:
            if isinstance(children[name], list) and name in repeated_names(e):
                children[name].append(v)
            else:
                children[name] = [children[name], v]
        else:
            children[name] = v
            order.append(name)
    own_text = (e.text or "") + "".join((c.tail or "") for c in e)
    attrs = [(qname(k), v) for k, v in e.attrib.items()]
    if not attrs and not children:
        if top:
            return {"_text": own_text} if own_text else {}
        return own_text
    obj = {}
    for k, v in attrs:
        obj[("@" + k) if k in children else k] = v
    for k in order:
        obj[k] = children[k]
    if own_text.strip(" \n\t\r"):
        obj["_text"] = own_text
    return obj


def repeated_names(e):
    seen, repeated = set(), set()
    for c in e:
        if isinstance(c.tag, str):
            n = qname(c.tag)
            (repeated if n in seen else seen).add(n)
    return repeated


def shape(e):
    """An element tree as nested tuples; whitespace-only text and tails (indentation) ignored."""
    def norm(s):
        return None if s is None or not s.strip(" \n\t\r") else s
    tag = e.tag if isinstance(e.tag, str) else ("comment" if e.tag is ET.Comment else "pi")
    return (tag, list(e.attrib.items()), norm(e.text), [shape(c) for c in e], norm(e.tail))


# ---------------------------------------------------------------------------------------------

def start_simulator(sluice):
    p = subprocess.Popen([sluice, "simulate", "--port", "0", "--time-scale", "0", "--no-capture"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    line = p.stdout.readline().decode()
    m = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not m:
        p.kill()
        raise SystemExit(f"sluice simulate did not start: {line!r}")
    return p, m.group(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True, help="the built sluice binary")
    ap.add_argument("--seconds", type=float, default=60, help="stop starting cases after this long")
    ap.add_argument("--cases", type=int, default=100000, help="at most this many cases")
    ap.add_argument("--seed", type=int, default=1, help="first case number (each case seeds its own generator)")
    ap.add_argument("--case", type=int, help="run this one case")
    ap.add_argument("--full-every", type=int, default=8, help="a full run against the simulator every N cases")
    ap.add_argument("--keep", help="directory for failing cases (default: a temporary one)")
    a = ap.parse_args()
    sluice = os.path.abspath(a.sluice)
    keep = a.keep or tempfile.mkdtemp(prefix="sluice-conformance-failures-")
    sim, endpoint = start_simulator(sluice)
    runner = Runner(sluice, endpoint)
    started = time.monotonic()
    counts, refusals, failures = {}, {}, []
    numbers = [a.case] if a.case is not None else range(a.seed, a.seed + a.cases)
    try:
        for number in numbers:
            if a.case is None and time.monotonic() - started > a.seconds:
                break
            rng = random.Random(number)
            kind = ["csv", "jsonl", "xml"][number % 3]
            work = tempfile.mkdtemp(prefix=f"sluice-case-{number}-")
            full = number % a.full_every == 0
            desc = kind
            try:
                desc = {"csv": csv_case, "jsonl": jsonl_case, "xml": xml_case}[kind](rng, runner, work, full)
                counts[kind] = counts.get(kind, 0) + 1
            except Refused as r:
                refusals[(kind, str(r))] = refusals.get((kind, str(r)), 0) + 1
            except (Mismatch, subprocess.TimeoutExpired) as m:
                target = os.path.join(keep, f"case-{number}")
                shutil.copytree(work, target, dirs_exist_ok=True)
                failures.append(number)
                print(f"FAIL case {number} ({kind}): {m}\n  files: {target}\n  again: python3 {sys.argv[0]} --sluice {a.sluice} --case {number}", flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        sim.kill()
        sim.wait()
    elapsed = time.monotonic() - started
    total = sum(counts.values()) + sum(refusals.values()) + len(failures)
    print(f"conformance: {total} cases in {elapsed:.0f} s; read and written exactly: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for (kind, why), n in sorted(refusals.items()):
        print(f"conformance: refused as documented: {kind} {why!r}: {n}")
    if failures:
        print(f"conformance: {len(failures)} FAILED: {failures[:50]} (kept in {keep})")
        sys.exit(1)
    if not a.keep:
        shutil.rmtree(keep, ignore_errors=True)


if __name__ == "__main__":
    main()
