"""Bloom-filter linkage at scale: N × N records, time per stage and the process's peak memory.

The service's Bloom path (``methods.link_bloom``) on two FEBRL-3-like sources of ``--records``
each (60 % of people in both): encode both, derive the keyed block keys, form the pairs that
share one and score them with the popcount Dice as they are formed (``--chunk`` pairs at a
time, keeping those with Dice at least threshold − 0.1), link one-to-one.
Peak memory is the process's maximum resident set size (``getrusage``), which includes the
generated records themselves.

    python benchmarks/linkage_scale.py --records 100000
"""

from __future__ import annotations

import argparse
import resource
import time

from bitgoeul.linkage import clk, keys, review, similarity, synthetic

SECRET = b"custodian secret for the benchmark only"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk", type=int, default=1 << 22, help="pairs scored at a time")
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
    completeness = similarity.blocked_share(left_blocks, right_blocks, data.truth)
    stage("pairs completeness (the truth's pairs that share a block key)")
    floor = clk.DEFAULT_THRESHOLD - review.BLOOM_BAND
    scored = similarity.scored_candidates(
        left_blocks, right_blocks, left, right, floor=floor, chunk=args.chunk
    )
    del left_blocks, right_blocks
    rate = scored.candidates / max(time.perf_counter() - last, 1e-9) / 1e6
    stage(
        f"blocking + Dice as formed ({scored.candidates:,} candidates, {rate:,.1f} M/s; "
        f"{len(scored.left):,} kept ≥ {floor:.1f}; largest chunk {scored.largest_chunk:,})"
    )
    keep = similarity.reaches(scored.score, clk.DEFAULT_THRESHOLD)
    links = similarity.one_to_one(scored.left[keep], scored.right[keep], scored.score[keep])
    stage("one-to-one")
    quality = similarity.quality(links.as_set(), data.truth)
    reduction = 1.0 - scored.candidates / (n * n)
    print(
        f"\ntotal {time.perf_counter() - started:,.0f} s, peak {peak_gib():.2f} GiB; "
        f"{len(links):,} links, precision {quality.precision:.4f}, recall {quality.recall:.4f}, "
        f"F1 {quality.f1:.4f}; pairs completeness {completeness:.4f}, "
        f"reduction ratio {reduction:.6f}"
    )


if __name__ == "__main__":
    main()
