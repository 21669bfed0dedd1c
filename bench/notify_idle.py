"""notify_idle.py - holds N idle GET /v1/notify long-polls open against a
running stewardd (mutual TLS, one client identity) and reports the server's
RSS per idle connection. Usage: notify_idle.py URL CA CERT KEY PID N..."""
import asyncio
import json
import resource
import ssl
import sys
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(host, port, ctx, path, opened, stop):
    try:
        r, w = await asyncio.open_connection(host, port, ssl=ctx,
                                             server_hostname=host)
    except Exception as e:  # noqa: BLE001 - counted, reported
        opened.append(False)
        return
    w.write(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    await w.drain()
    opened.append(True)
    await stop.wait()
    w.close()


async def run(url, ca, cert, key, pid, n):
    host, port = url[len("https://"):].rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    base = rss_kib(pid)
    stop = asyncio.Event()
    opened = []
    t0 = time.monotonic()
    tasks = []
    sem = asyncio.Semaphore(200)  # bounded concurrency of handshakes

    async def one():
        async with sem:
            pass
        await hold(host, int(port), ctx, "/v1/notify?wait=600", opened, stop)

    for _ in range(n):
        tasks.append(asyncio.create_task(one()))
        if len(tasks) % 200 == 0:
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + 300
    while len(opened) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # let the server settle
    ok = sum(1 for o in opened if o)
    after = rss_kib(pid)
    setup = time.monotonic() - t0
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"connections": ok, "failed": n - ok, "rss_before_kib": base,
            "rss_after_kib": after,
            "kib_per_connection": round((after - base) / max(ok, 1), 2),
            "open_seconds": round(setup, 1)}


def main():
    url, ca, cert, key, pid = sys.argv[1:6]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for n in sys.argv[6:]:
        print(json.dumps(asyncio.run(run(url, ca, cert, key, int(pid),
                                         int(n)))), flush=True)


main()
