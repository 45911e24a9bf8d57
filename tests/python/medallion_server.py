#!/usr/bin/env python3
"""Runs the OASIS reference TAXII 2.1 server, medallion, with its memory backend on 127.0.0.1
(any free port) for tests and benchmarks: a TAXII server that is not liaison.

Usage: medallion_server.py DATA_FILE USER SECRET

DATA_FILE is medallion's memory-backend data (see `data()`); USER/SECRET its one account.
Prints the port on the first line of stdout once it listens, then serves until killed.
"""

import json
import sys
import tempfile

API_ROOT = "api1"
# Collection ids (UUIDs, as TAXII requires).
READ_ONLY = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"  # what the partner releases to us
WRITABLE = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"  # where we POST


def data(objects=(), max_page_size=1000):
    """Memory-backend data: one API root, a read-only collection holding `objects` (each with
    a manifest entry) and an empty writable one."""
    media = "application/stix+json;version={}"
    manifest = []
    for i, o in enumerate(objects):
        manifest.append({
            "id": o["id"],
            "date_added": f"2026-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}000Z",
            "version": o.get("modified", o.get("created")),
            "media_type": media.format(o.get("spec_version", "2.0")),
        })

    def collection(cid, title, can_write, objs, man):
        return {
            "id": cid, "title": title, "description": title, "can_read": True,
            "can_write": can_write, "media_types": [media.format("2.1"), media.format("2.0")],
            "objects": list(objs), "manifest": man,
        }

    return {
        "/discovery": {
            "title": "medallion (test)", "description": "OASIS reference TAXII server",
            "default": f"http://127.0.0.1/{API_ROOT}/",
            "api_roots": [f"http://127.0.0.1/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "api root", "description": "test", "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 100 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                collection(READ_ONLY, "released to us", False, objects, manifest),
                collection(WRITABLE, "inbound", True, [], []),
            ],
        },
        "_max_page_size": max_page_size,
    }


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        loaded = json.load(f)
    max_page_size = loaded.pop("_max_page_size", 1000)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data_file:
        json.dump(loaded, data_file)
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": data_file.name, "session_timeout": 600},
        "users": {argv[2]: argv[3]},
        "taxii": {"max_page_size": max_page_size},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config_file:
        json.dump(config, config_file)

    from medallion import load_app
    from werkzeug.serving import make_server

    app = load_app(config_file.name)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
