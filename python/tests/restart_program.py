"""Run by PythonClientTest around a worker restart: views opened before must never read the new worker's memory.

Phase 1 (before the restart): set keys, open views, print READY. The test kills and restarts the worker, then
writes a line to stdin. Phase 2: the old views read zeros or raise CLIENT_WORKER_DISCONNECT through the API, the
client reconnected by itself, and new keys work. Exit 0 only if all of it holds.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from yr.datasystem import DsClient  # noqa: E402

client = DsClient(os.environ["DS4J_HOST"], int(os.environ["DS4J_PORT"]))
client.init()
kv = client.kv()
assert kv._link.state.shared_memory, "the restart test needs shared memory"
value = b"\x5a" * (2 * 1024 * 1024)
kv.set("restart-view", value)
view = kv.get_buffers(["restart-view"])[0]
created = kv.mcreate(["restart-created"], [4096])[0]
assert bytes(view) == value
print("READY", flush=True)
sys.stdin.readline()

deadline = time.monotonic() + 20
while kv._link.state.generation == client._link.state.generation and time.monotonic() < deadline:
    try:
        kv.exist(["probe"])
        break
    except RuntimeError:
        time.sleep(0.2)
stale = bytes(view)
assert stale != value, "a view of the killed worker still shows its bytes"
assert stale == b"\0" * len(value), "a stale view read something other than zeros"
try:
    created.MutableData()
    raise AssertionError("a region of the killed worker is still writable through the API")
except RuntimeError as e:
    assert "Client worker disconnect" in str(e), e
try:
    kv.get(["restart-view"])
    raise AssertionError("the restarted worker should not know the key")
except RuntimeError as e:
    assert "Key not found" in str(e), e
kv.set("restart-after", b"fresh" * 1000000)
assert kv.get(["restart-after"])[0] == b"fresh" * 1000000
assert bytes(kv.get_buffers(["restart-after"])[0][:5]) == b"fresh"
print("PASSED", flush=True)
client.shutdown()
