#!/usr/bin/env python3
"""Hold N requests open against a slow simulator and report its resident memory.

Opens N keep-alive connections to 127.0.0.1:PORT, sends one Flex Interactions request on each,
waits until the simulator's /_sim/stats shows them all in service or queued, then reads the
simulator's VmRSS / VmHWM from /proc. Loopback only; bounded by --timeout.
"""
import argparse, asyncio, json, sys, time, urllib.request


async def hold(port: int, i: int, ready: asyncio.Event, done: asyncio.Event):
    body = json.dumps({"model": "gemini-3-flash-preview", "input": f"queued request {i}",
                       "service_tier": "flex", "store": False}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1beta/interactions HTTP/1.1\r\nHost: 127.0.0.1\r\nx-goog-api-key: sim-test-key\r\n"
                 b"content-type: application/json\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    await done.wait()
    writer.close()


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats", timeout=10) as r:
        return json.load(r)


def rss(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) // 1024
    return out


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    before = rss(a.pid)
    done = asyncio.Event()
    tasks = []
    for i in range(a.n):
        tasks.append(asyncio.create_task(hold(a.port, i, None, done)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        q = stats(a.port)["queues"]["flex"]
        if q["in_service"] + q["queued"] >= a.n:
            break
        await asyncio.sleep(0.5)
    q = stats(a.port)["queues"]["flex"]
    after = rss(a.pid)
    print(json.dumps({"requests_open": a.n, "in_service": q["in_service"], "queued": q["queued"],
                      "rss_mb_idle": before["VmRSS"], "rss_mb_with_queue": after["VmRSS"], "peak_rss_mb": after["VmHWM"]}))
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
