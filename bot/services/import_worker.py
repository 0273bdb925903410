"""A worker process of a large import: ``python -m bot.services.import_worker FILE BATCH_SIZE PART PARTS``.

Reads a JSON line on stdin: the file's encoding and the pieces of the file to read (``null``: the whole
file); then it reads, validates and derives its batches while the importing process
(`bot.services.registry_import`) and the other workers go on. Before it hands over its first batch it
reads a second JSON line: where and how to write (a SQLite file or a PostgreSQL database), or ``null``.

With a database to write, the worker writes each batch itself when its turn comes (another line on stdin:
the importing process hands out turns in file order) and reports what it wrote; otherwise it sends each
batch prepared for the importing process to write.

Loads no database layer (only `bot.services.import_reader`, the engine and the driver: `sqlite3`, or
psycopg for PostgreSQL): it starts in a fraction of the time SQLAlchemy and the models would take.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from dataclasses import astuple
from typing import Any, BinaryIO

import orjson

from bot.services.import_reader import (
    EncodingChoice,
    RawItem,
    RegistryFile,
    Rejected,
    in_batches,
    prepare_batch,
)
from bot.services.import_writer import Counts, PostgresStore, SqliteStore


def worker_main(
    path: str,
    batch_size: int,
    out: BinaryIO,
    part: int = 0,
    parts: int = 1,
    ranges: list[tuple[int, int, int]] | None = None,
    encoding: str | None = None,
    orders: BinaryIO | None = None,
    errors: str = "strict",
) -> None:
    """Prepare (and perhaps write) every `parts`-th batch of the file, starting at batch `part`.

    With `ranges` (`RegistryFile.line_ranges`) the worker reads only its own pieces of the file; without,
    it reads the whole file to find its batches. `encoding` is the file's, as the importing process found
    it, and `errors` its error handling (``surrogateescape``: lines it cannot read are rejected). `orders` (None: as if it said ``null``) gives a JSON line before the first batch is handed over:
    null, or {"database": a SQLite file, "pragmas": [...]} or {"postgresql": a libpq connection URL}, with
    "batch_id" (the import's batch) and "stamp" (its time, as the database takes it in text); then each
    batch is written there when a line (its turn) arrives on `orders` (their end: stop).

    Frames on `out`: an 8-byte length and JSON: ["batch", bytes read, rows, items] (an item is a prepared
    row, or [line, reason, code, args] for a rejected one) or ["written", bytes read, rows, inserted, updated,
    unchanged, rejected items]; then ["end"] or ["error", text]. (JSON: orjson writes and reads these
    batches several times faster than pickle.)
    """
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count

    def send(message: list[Any]) -> None:
        data = orjson.dumps(message)
        out.write(len(data).to_bytes(8, "big"))
        out.write(data)
        out.flush()

    store: SqliteStore | PostgresStore | None = None
    told = False
    batch_id, stamp = 0, None

    def where_to_write() -> SqliteStore | PostgresStore | None:
        """The second order, read once: where to write (None: send the batches)."""
        nonlocal store, told, batch_id, stamp
        if not told and orders is not None:
            told = True
            target = orjson.loads(orders.readline() or b"null")
            if target is not None:
                batch_id, stamp = target["batch_id"], target["stamp"]
                if "postgresql" in target:
                    store = PostgresStore(target["postgresql"])
                else:
                    store = SqliteStore(target["database"], target["pragmas"])
        return store

    def my_turn() -> bool:
        return orders is None or bool(orders.readline())

    def own_batches(source: RegistryFile) -> Iterator[list[RawItem]]:
        nonlocal done
        if ranges is None:
            for number, raw_batch in enumerate(in_batches(source.rows(advance), batch_size)):
                if number % parts == part:
                    yield raw_batch
            return
        for number, (start, end, first_line) in enumerate(ranges):
            if number % parts == part:
                done = end
                yield list(source.rows_between(start, end, first_line))

    batches = 0
    try:
        source = RegistryFile(path, EncodingChoice(encoding, errors) if encoding else None)
        for raw_batch in own_batches(source):
            prepared = prepare_batch(raw_batch)
            writer = where_to_write()
            if writer is None:
                items = [
                    (item.line, item.reason, item.code, item.args) if isinstance(item, Rejected) else item
                    for item in prepared
                ]
                send(["batch", done, len(raw_batch), items])
                del items
            else:
                rows = [item for item in prepared if not isinstance(item, Rejected)]
                rejected = [
                    (item.line, item.reason, item.code, item.args)
                    for item in prepared
                    if isinstance(item, Rejected)
                ]
                if not my_turn():
                    return  # the importing process has gone
                counts = writer.write(batch_id, stamp, rows) if rows else Counts()
                send(["written", done, len(raw_batch), *astuple(counts), rejected])
            del prepared
            batches += 1
            if batches % 20 == 0:
                gc.collect()
                gc.freeze()  # what survives is the engine's caches: out of every later collection
        if where_to_write() is None or my_turn():
            send(["end"])
    except BrokenPipeError:
        pass  # the importing process stopped listening: nothing left to do
    except Exception as error:  # reported to the importing process, which raises it there
        send(["error", f"{type(error).__name__}: {error}"])
    finally:
        if store is not None:
            store.close()


def main() -> None:
    # Automatic collection would walk each batch's tens of thousands of fresh objects many times over; a
    # batch makes no reference cycles, so the occasional collection in worker_main is plenty.
    gc.disable()
    told = orjson.loads(sys.stdin.buffer.readline() or b"{}")
    worker_main(
        sys.argv[1],
        int(sys.argv[2]),
        sys.stdout.buffer,
        int(sys.argv[3]),
        int(sys.argv[4]),
        told.get("ranges"),
        told.get("encoding"),
        sys.stdin.buffer,
        told.get("errors") or "strict",
    )


if __name__ == "__main__":
    main()
