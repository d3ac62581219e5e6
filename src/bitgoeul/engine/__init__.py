"""The locked DuckDB engine every door reads dataset versions through (``engine.locked``)."""
