#!/usr/bin/env python3
"""Google's official SDK (google-genai) against a local Batch/Files endpoint: the simulator.

Each case prints one JSON line {"case", "ok", "result" | "error"}. Loopback only: the probe
refuses any other host, so it never sends a key or data to a real service.

    python3 batch_probe.py --base-url http://127.0.0.1:PORT [--cases all]
"""
import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from urllib.parse import urlparse

MODEL = "gemini-3.5-flash"


def check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"batch_probe: refusing non-loopback base URL {base_url}")


def make_client(args):
    from google import genai
    from google.genai import types
    return genai.Client(api_key=args.api_key, http_options=types.HttpOptions(
        base_url=args.base_url, api_version="v1beta", timeout=int(args.timeout * 1000),
        retry_options=types.HttpRetryOptions(attempts=1)))


def request_line(key: str, text: str, schema: bool = False) -> dict:
    request = {"contents": [{"role": "user", "parts": [{"text": text}]}],
               "systemInstruction": {"parts": [{"text": "Answer briefly."}]}}
    if schema:
        request["generationConfig"] = {"responseMimeType": "application/json", "responseJsonSchema": {
            "type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}}
    return {"key": key, "request": request}


def wait_done(client, name: str, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        job = client.batches.get(name=name)
        state = job.state.value if hasattr(job.state, "value") else str(job.state)
        if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"):
            return job, state
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} still {state} after {seconds} s")
        time.sleep(0.1)


def case_file_batch(client, args) -> dict:
    """files.upload → batches.create → batches.get until done → files.download, keyed lines."""
    lines = [request_line("row-1", "first record"), request_line("row-2", "second record", schema=True),
             request_line("row-3", "third record sim-fault:500")]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
        path = f.name
    try:
        uploaded = client.files.upload(file=path, config={"display_name": "probe-input", "mime_type": "jsonl"})
    finally:
        os.unlink(path)
    job = client.batches.create(model=MODEL, src=uploaded.name, config={"display_name": "probe-wave-1"})
    first_state = job.state.value if hasattr(job.state, "value") else str(job.state)
    done, state = wait_done(client, job.name, args.timeout)
    assert state == "JOB_STATE_SUCCEEDED", state
    data = client.files.download(file=done.dest.file_name)
    results = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
    by_key = {r["key"]: r for r in results}
    assert set(by_key) == {"row-1", "row-2", "row-3"}, list(by_key)
    assert "response" in by_key["row-1"] and "error" in by_key["row-3"], results
    label = json.loads(by_key["row-2"]["response"]["candidates"][0]["content"]["parts"][0]["text"])["label"]
    return {"file": uploaded.name, "file_state": str(uploaded.state), "size": uploaded.size_bytes, "batch": job.name,
            "display_name": done.display_name, "first_state": first_state, "state": state,
            "responses_file": done.dest.file_name, "keys": sorted(by_key), "label": label,
            "row1_text": by_key["row-1"]["response"]["candidates"][0]["content"]["parts"][0]["text"],
            "row3_error": by_key["row-3"]["error"]}


def case_inline_batch(client, args) -> dict:
    """Inline requests: the responses come back in the batch itself."""
    from google.genai import types
    job = client.batches.create(model=MODEL, src=[
        types.InlinedRequest(contents="inline one", metadata={"key": "a"}),
        types.InlinedRequest(contents="inline two", metadata={"key": "b"}),
    ], config={"display_name": "probe-inline"})
    done, state = wait_done(client, job.name, args.timeout)
    assert state == "JOB_STATE_SUCCEEDED", state
    responses = done.dest.inlined_responses
    return {"state": state, "count": len(responses), "texts": [r.response.text for r in responses]}


def case_list_cancel_delete(client, args) -> dict:
    """A batch cancelled while it waits, found by list, then deleted."""
    job = client.batches.create(model=MODEL, src=[
        __import__("google.genai.types", fromlist=["InlinedRequest"]).InlinedRequest(contents="to cancel")],
        config={"display_name": "probe-cancel"})
    client.batches.cancel(name=job.name)
    got = client.batches.get(name=job.name)
    state = got.state.value if hasattr(got.state, "value") else str(got.state)
    names = [b.display_name for b in client.batches.list(config={"page_size": 2})]
    client.batches.delete(name=job.name)
    return {"state": state, "listed": names}


CASES = {"file_batch": case_file_batch, "inline_batch": case_inline_batch, "list_cancel_delete": case_list_cancel_delete}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--api-key", default="sim-test-key")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--cases", default="all")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    check_loopback(args.base_url)
    client = make_client(args)
    failures = 0
    for name in (list(CASES) if args.cases == "all" else args.cases.split(",")):
        t0 = time.monotonic()
        try:
            rec = {"case": name, "ok": True, "result": CASES[name](client, args)}
        except Exception as exc:  # noqa: BLE001
            failures += 1
            rec = {"case": name, "ok": False, "error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
            if args.verbose:
                traceback.print_exc()
        rec["seconds"] = round(time.monotonic() - t0, 3)
        print(json.dumps(rec, default=str))
        sys.stdout.flush()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
