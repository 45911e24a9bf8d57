"""The peer for bench/psi.sh: OpenMined's openmined-psi (ECDH-PSI on P-256) on the same sets
as `psi e2e` wrote (SETS_DIR/asker.txt, SETS_DIR/holder.txt, one key a line), both parties in
one process, the usual way (its README): the server (holder) sends a setup message with its
set, the client (asker) a request, the server processes it, the client gets the intersection.
Every message is serialised and parsed, as liaison's are. Prints one JSON line.

    python psi_peer.py SETS_DIR
"""

import json
import sys
import time

import private_set_intersection.python as psi

sets = sys.argv[1]
asker = open(f"{sets}/asker.txt", encoding="utf-8").read().splitlines()
holder = open(f"{sets}/holder.txt", encoding="utf-8").read().splitlines()
n = len(asker)
# The README's false-positive rate: one in a billion for the whole query.
fpr = 1e-9

t0 = time.perf_counter()
server = psi.server.CreateWithNewKey(True)  # reveal the intersection, not only its size
client = psi.client.CreateWithNewKey(True)
setup_bytes = server.CreateSetupMessage(fpr, len(asker), holder, psi.DataStructure.GCS).SerializeToString()
t1 = time.perf_counter()
request_bytes = client.CreateRequest(asker).SerializeToString()
t2 = time.perf_counter()
request = psi.Request()
request.ParseFromString(request_bytes)
response_bytes = server.ProcessRequest(request).SerializeToString()
t3 = time.perf_counter()
setup = psi.ServerSetup()
setup.ParseFromString(setup_bytes)
response = psi.Response()
response.ParseFromString(response_bytes)
found = set(client.GetIntersection(setup, response))
t4 = time.perf_counter()

expected = set(range(n // 2, n))
if found != expected:
    sys.exit(
        f"openmined-psi: WRONG INTERSECTION: {len(found)} found, {len(expected)} expected "
        f"({len(expected - found)} missing, {len(found - expected)} extra)"
    )
print(
    json.dumps(
        {
            "bench": "openmined-psi",
            "version": psi.__version__,
            "size": n,
            "intersection": len(found),
            "setup_s": t1 - t0,
            "request_s": t2 - t1,
            "process_s": t3 - t2,
            "intersect_s": t4 - t3,
            "total_s": t4 - t0,
            "setup_bytes": len(setup_bytes),
            "request_bytes": len(request_bytes),
            "response_bytes": len(response_bytes),
        }
    )
)
