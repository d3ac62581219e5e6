"""Bloom-filter linkage at scale: N × N records, time per stage and the process's peak memory.

The service's Bloom path (``methods.link_bloom``) on two FEBRL-3-like sources of ``--records``
each (60 % of people in both): encode both, derive the keyed block keys, pair the records that
share one, score the candidate pairs with the popcount Dice (in chunks), link one-to-one.
Peak memory is the process's maximum resident set size (``getrusage``), which includes the
generated records themselves.

    python benchmarks/linkage_scale.py --records 100000
"""

from __future__ import annotations

import argparse
import resource
import time

from bitgoeul.linkage import clk, keys, similarity, synthetic

SECRET = b"custodian secret for the benchmark only"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    n = args.records
    started = time.perf_counter()
    last = started

    def stage(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        print(f"| {name} | {now - last:,.1f} s | {peak_gib():.2f} GiB |", flush=True)
        last = now

    print(f"{n:,} × {n:,} records, seed {args.seed}\n")
    print("| stage | time | peak memory so far |")
    print("| --- | ---: | ---: |")
    data = synthetic.generate(n, n, int(n * 0.6), args.seed)
    stage("generate the two sources (with the truth)")
    encoder = clk.ClkEncoder(clk.DEFAULT_SCHEMA, SECRET, "scale")
    left, right = encoder.encode(data.left), encoder.encode(data.right)
    stage("CLK-encode both")
    left_blocks = keys.block_keys(SECRET, "scale", keys.DEFAULT_BLOCKS, data.left)
    right_blocks = keys.block_keys(SECRET, "scale", keys.DEFAULT_BLOCKS, data.right)
    stage("keyed block keys, both")
    i, j = similarity.candidate_pairs(left_blocks, right_blocks)
    del left_blocks, right_blocks
    stage(f"candidate pairs ({len(i):,})")
    scores = similarity.dice_pairs(left, right, i, j)
    stage(
        f"Dice of the candidates ({len(i) / max(time.perf_counter() - last, 1e-9) / 1e6:,.0f} M/s)"
    )
    keep = scores >= clk.DEFAULT_THRESHOLD
    links = similarity.one_to_one(i[keep], j[keep], scores[keep])
    stage("one-to-one")
    quality = similarity.quality(links.as_set(), data.truth)
    completeness, reduction = similarity.blocking_quality(i, j, data.truth, n, n)
    print(
        f"\ntotal {time.perf_counter() - started:,.0f} s, peak {peak_gib():.2f} GiB; "
        f"{len(links):,} links, precision {quality.precision:.4f}, recall {quality.recall:.4f}, "
        f"F1 {quality.f1:.4f}; pairs completeness {completeness:.4f}, "
        f"reduction ratio {reduction:.6f}"
    )


if __name__ == "__main__":
    main()
