"""The policy-enforcing SQL gateway: parse and rewrite (sqlglot), decide, run on DuckDB."""
