"""Data linkage: records about the same residents held by different agencies, linked inside
the hub without any agency handing identifiers to another.

The algorithms are pure modules: ``normalise`` and ``hangul`` (fields written one way),
``keys`` (combination keys: HMAC-SHA256 under the key custodian's secret, cascading key
definitions, keyed block keys), ``clk`` (Bloom-filter encodings with per-field HKDF keys and
hardening), ``similarity`` (Dice with a vectorised popcount, blocking, one-to-one assignment)
and ``synthetic`` (a FEBRL-3-like generator with the truth, for tests and benchmarks).
"""
