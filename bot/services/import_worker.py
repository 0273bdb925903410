"""A worker process of a large import: ``python -m bot.services.import_worker FILE BATCH_SIZE PART PARTS``.

Reads the file's encoding and the pieces of the file to read (``null``: the whole file) as one JSON
object on stdin, then reads, validates and derives its batches and writes them prepared to stdout for
the importing process (`bot.services.registry_import`), which writes them to the database meanwhile.
"""

from __future__ import annotations

import sys

import orjson

from bot.services.registry_rows import worker_main

if __name__ == "__main__":
    told = orjson.loads(sys.stdin.buffer.readline() or b"{}")
    worker_main(
        sys.argv[1],
        int(sys.argv[2]),
        sys.stdout.buffer,
        int(sys.argv[3]),
        int(sys.argv[4]),
        told.get("ranges"),
        told.get("encoding"),
    )
