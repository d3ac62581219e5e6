"""The reference side of ``benchmarks/linkage.py``: clkhash and anonlink, run by the
interpreter of a separate virtual environment (``.bench/refvenv``) so neither is a dependency
of Bitgoeul. Reads one JSON job on stdin, prints one JSON result on stdout.

The job carries the records already normalised (jamo, ``YYYYMMDD``, phone digits), so clkhash
is timed on hashing alone, and the encodings Bitgoeul made, so anonlink compares exactly the
bit vectors Bitgoeul's Dice compares.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import time

import anonlink
from bitarray import bitarray
from clkhash import clk
from clkhash.schema import from_json_dict


def _feature(identifier: str, comparison: dict[str, object], bits: int) -> dict[str, object]:
    return {
        "identifier": identifier,
        "format": {"type": "string", "encoding": "utf-8"},
        "hashing": {
            "comparison": comparison,
            "strategy": {"bitsPerToken": bits},
            "hash": {"type": "blakeHash"},
        },
    }


def clkhash_schema(weights: dict[str, int], length: int) -> object:
    bigram = {"type": "ngram", "n": 2}
    positional = {"type": "ngram", "n": 1, "positional": True}
    exact = {"type": "exact"}
    return from_json_dict(
        {
            "version": 3,
            "clkConfig": {
                "l": length,
                "kdf": {
                    "type": "HKDF",
                    "hash": "SHA256",
                    "salt": base64.b64encode(b"bitgoeul-benchmark").decode(),
                    "info": base64.b64encode(b"linkage").decode(),
                    "keySize": 64,
                },
            },
            "features": [
                _feature("surname", bigram, weights["surname"]),
                _feature("given_name", bigram, weights["given_name"]),
                _feature("name_latin", bigram, weights["name_latin"]),
                _feature("birth_date", positional, weights["birth_date"]),
                _feature("phone", positional, weights["phone"]),
                _feature("district", exact, weights["district"]),
                _feature("sex", exact, weights["sex"]),
            ],
        }
    )


def main() -> None:
    job = json.load(sys.stdin)
    schema = clkhash_schema(job["weights"], job["length"])
    header = "surname,given_name,name_latin,birth_date,phone,district,sex\n"
    csv_text = header + "".join(",".join(row) + "\n" for row in job["rows"])
    encode_times = []
    for _ in range(job["repeat"]):
        start = time.perf_counter()
        clk.generate_clk_from_csv(
            io.StringIO(csv_text), "benchmark secret", schema, progress_bar=False
        )
        encode_times.append(time.perf_counter() - start)

    def load(encoded: list[str]) -> list[bitarray]:
        out = []
        for item in encoded:
            bits = bitarray(endian="big")
            bits.frombytes(base64.b64decode(item))
            out.append(bits)
        return out

    left, right = load(job["left"]), load(job["right"])
    dice_times = []
    found = 0
    for _ in range(job["repeat"]):
        start = time.perf_counter()
        candidates = anonlink.candidate_generation.find_candidate_pairs(
            [left, right],
            anonlink.similarities.dice_coefficient_accelerated,
            job["threshold"],
        )
        dice_times.append(time.perf_counter() - start)
        found = len(candidates[0])
    json.dump(
        {
            "records": len(job["rows"]),
            "encode_s": min(encode_times),
            "comparisons": len(left) * len(right),
            "dice_s": min(dice_times),
            "pairs_found": found,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
