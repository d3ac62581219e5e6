"""Overlap reading, checking and writing: the only threads in the ingest pipeline.

Arrow parses CSV and encodes Parquet with the GIL released, so on a 2-core machine the
pipeline is fastest when the next block is being parsed and the previous batch written while
Python checks and profiles the current one.  Queues are short, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

T = TypeVar("T")
DEPTH = 2
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator[T], *, depth: int = DEPTH) -> Iterator[T]:
    """Yield ``items`` while a thread produces the next ``depth`` of them ahead of time."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # re-raised in the consuming thread
            put(_Failure(error))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


class ParquetSink:
    """A Parquet writer fed from a short queue and drained by its own thread."""

    def __init__(
        self, path: Path, schema: pa.Schema, *, compression: str, dictionary_columns: list[str]
    ) -> None:
        self._writer = pq.ParquetWriter(
            path, schema, compression=compression, use_dictionary=dictionary_columns
        )
        self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="ingest-parquet", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._writer.write_batch(batch)
                except BaseException as error:  # reported by write() or close()
                    self._error = error

    def write(self, batch: pa.RecordBatch) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self) -> None:
        """Finish writing; raises the writer's error if there was one."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._writer.close()
        if self._error is not None:
            raise self._error
