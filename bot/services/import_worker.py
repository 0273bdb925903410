"""The worker process of a large import: ``python -m bot.services.import_worker FILE BATCH_SIZE [PART PARTS]``.

Reads, validates and derives the file's rows and writes the prepared batches to stdout for the importing
process (`bot.services.registry_import`), which writes them to the database meanwhile.
"""

from __future__ import annotations

import sys

from bot.services.registry_import import worker_main

if __name__ == "__main__":
    part, parts = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 1)
    worker_main(sys.argv[1], int(sys.argv[2]), sys.stdout.buffer, part, parts)
