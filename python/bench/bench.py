"""Python client benchmarks (docs/benchmarks.md, "Python client"), each a ratio against a ceiling measured in the
same run:

  100 B set / get ops/s   vs a bare Python Unix-socket ping-pong of the same frame sizes (same process pattern)
  get_buffers 1 MiB, 64 MiB  per-call time (zero copy: flat in size)
  get 64 MiB into bytes   vs a memoryview copy of 64 MiB (bytes(mv)) in the same process

  PYTHONPATH=python python3 python/bench/bench.py HOST PORT [--profile]
"""
import cProfile
import os
import pstats
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from yr.datasystem import DsClient  # noqa: E402

MIB = 1024 * 1024


def rate(fn, seconds=2.0):
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        n += 200
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def per_call(fn, repeat):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def ping_pong(request_size, reply_size, seconds=2.0):
    """The ceiling: a Python client and a Python echo thread over a Unix socket, one frame each way per op."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    reply = b"r" * reply_size

    def server():
        buf = bytearray(65536)
        while True:
            n = b.recv_into(buf)
            if n == 0:
                return
            b.sendall(reply)

    # the echo runs in another process, like the worker: a thread would share this process's GIL
    pid = os.fork()
    if pid == 0:
        a.close()
        server()
        os._exit(0)
    b.close()
    request = b"q" * request_size
    buf = bytearray(65536)

    def op():
        a.sendall(request)
        a.recv_into(buf)

    r = rate(op, seconds)
    a.close()
    os.waitpid(pid, 0)
    return r


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    client = DsClient(host, port)
    client.init()
    kv = client.kv()
    print("shared memory:", kv._link.state.shared_memory)
    value = os.urandom(100)
    kv.set("bench-100", value)
    # the frames of a 100 B set: 16 + 7 + 4 + 4 + 9 + 4 + 100 bytes out, 24 back; of a get 16 + 13 + 13 out, 16 + 4 + 4 + 1 + 4 + 100 back
    set_rate = rate(lambda: kv.set("bench-100", value))
    get_rate = rate(lambda: kv.get(["bench-100"]))
    pp_set = ping_pong(144, 24)
    pp_get = ping_pong(42, 129)
    print("set 100 B: %.0f ops/s; bare Python ping-pong %.0f ops/s: %.0f%%" % (set_rate, pp_set, 100 * set_rate / pp_set))
    print("get 100 B: %.0f ops/s; bare Python ping-pong %.0f ops/s: %.0f%%" % (get_rate, pp_get, 100 * get_rate / pp_get))

    for size in (MIB, 64 * MIB):
        kv.set("bench-big", os.urandom(size))

        def views():
            v = kv.get_buffers(["bench-big"])[0]
            del v

        print("get_buffers %d MiB: %.1f us per call" % (size // MIB, 1e6 * per_call(views, 2000 if size == MIB else 500)))
    big = memoryview(os.urandom(64 * MIB))
    t_get = per_call(lambda: kv.get(["bench-big"]), 20)
    t_copy = per_call(lambda: bytes(big), 20)
    print("get 64 MiB into bytes: %.2f ms; memoryview copy 64 MiB: %.2f ms: %.0f%% of the copy's speed"
          % (1e3 * t_get, 1e3 * t_copy, 100 * t_copy / t_get))
    if "--profile" in sys.argv:
        for name, fn in [("set", lambda: kv.set("bench-100", value)), ("get", lambda: kv.get(["bench-100"]))]:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(20000):
                fn()
            prof.disable()
            print("--- cProfile of 20000 %s calls" % name)
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    client.shutdown()


if __name__ == "__main__":
    main()
