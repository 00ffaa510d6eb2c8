#!/usr/bin/env python3
"""A TCP proxy that holds every new connection for --delay seconds before
it forwards it to --to: a CQL node that is slow to answer, so that a schema
refresh of `cdctail run` lasts long enough to be interrupted. It writes the
number of connections open now to --state after every change (read by the
test to know whether a refresh was in flight at a given moment).

usage: slow_proxy.py --listen 127.0.0.1:19042 --to 127.0.0.1:9042 --delay 1.5 --state FILE"""
import argparse
import asyncio
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--delay", type=float, default=1.5)
    ap.add_argument("--state", required=True)
    a = ap.parse_args()
    lhost, lport = a.listen.rsplit(":", 1)
    thost, tport = a.to.rsplit(":", 1)
    open_now = [0]

    def note(d):
        open_now[0] += d
        tmp = a.state + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % open_now[0])
        os.replace(tmp, a.state)

    async def pipe(r, w):
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                w.close()
            except Exception:  # noqa: BLE001
                pass

    async def handle(cr, cw):
        note(+1)
        try:
            await asyncio.sleep(a.delay)
            sr, sw = await asyncio.open_connection(thost, int(tport))
            await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
        except (ConnectionError, OSError):
            cw.close()
        finally:
            note(-1)

    async def serve():
        note(0)
        srv = await asyncio.start_server(handle, lhost, int(lport))
        async with srv:
            await srv.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
