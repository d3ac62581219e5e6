"""Ingest: turn an uploaded file into validated, profiled, classified Parquet.

A pure library with no database: ``catalog.actions.publish_version`` calls
:func:`bitgoeul.ingest.pipeline.ingest_file` and stores the Parquet it returns under its content
hash.  Readers stream Arrow batches (``readers``), types are inferred or declared
(``table_schema``), every batch is checked and cast (``pipeline``), profiled (``profile``) and
its columns classified (``column_classes``); problems become one error report (``report``).
"""

from __future__ import annotations

from bitgoeul.ingest.pipeline import IngestResult, ingest_file, read_preview

__all__ = ["IngestResult", "ingest_file", "read_preview"]
