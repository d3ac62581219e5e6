"""One linkage, start to end, on records already read: the sources linked to the first one.

The first source is the anchor (e.g. the city's register of older residents living alone);
each other source is linked one-to-one to it, by the project's method. A person in the linked
dataset is an anchor record linked in every other source. Everything a run derives on the way
— keys, encodings, block keys, candidate pairs — is written under the run's work directory, so
that it can be deleted as a whole and the deletion recorded with what it held.

Pure apart from that directory: no database, no audit (``actions.run_linkage`` does both).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bitgoeul.linkage import clk, keys, probabilistic, review, similarity


@dataclass(frozen=True)
class SourceLink:
    """Links of one non-anchor source to the anchor: anchor row → this source's row."""

    to_anchor: dict[int, int]
    by_definition: dict[str, int] = field(default_factory=dict)  # exact: links per key
    scores: list[float] = field(default_factory=list)  # bloom: Dice; probabilistic: P(match)
    # probabilistic: the pairs scored and the model's own estimate of precision and recall
    comparisons: int = 0
    estimated: dict[str, float] = field(default_factory=dict)
    # the clerical review sample drawn from this source's pairs (``review``)
    sample: review.Sample = field(default_factory=lambda: review.Sample([], []))


def _seed(scope: str, index: int) -> int:
    """The review sample's seed: fixed per project and source, so a rerun draws alike."""
    digest = hashlib.sha256(f"review\x1f{scope}\x1f{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _write(workdir: Path, name: str, payload: object) -> None:
    path = workdir / name
    if isinstance(payload, np.ndarray):
        np.save(path, payload)
    else:
        path.write_text(json.dumps(payload), encoding="utf-8")


def link_exact(
    secret: bytes,
    scope: str,
    sources: Sequence[Sequence[Mapping[str, object]]],
    cascade: Sequence[keys.KeyDefinition],
    workdir: Path,
) -> list[SourceLink]:
    derived = [keys.derive_keys(secret, scope, cascade, records) for records in sources]
    for index, source_keys in enumerate(derived):
        _write(workdir, f"keys-{index}.json", source_keys)
    links: list[SourceLink] = []
    for index, other in enumerate(derived[1:], start=1):
        found = keys.link_exact(cascade, derived[0], other)
        counts: dict[str, int] = {d.name: 0 for d in cascade}
        for link in found:
            counts[link.definition] += 1
        sample = review.draw_exact(
            [(x.left, x.right, x.definition) for x in found], seed=_seed(scope, index)
        )
        links.append(
            SourceLink({x.left: x.right for x in found}, by_definition=counts, sample=sample)
        )
    return links


def link_bloom(
    secret: bytes,
    scope: str,
    sources: Sequence[Sequence[Mapping[str, object]]],
    threshold: float,
    workdir: Path,
) -> list[SourceLink]:
    encoder = clk.ClkEncoder(clk.DEFAULT_SCHEMA, secret, scope)
    encodings = [encoder.encode(records) for records in sources]
    blocks = [keys.block_keys(secret, scope, keys.DEFAULT_BLOCKS, records) for records in sources]
    for index, (encoded, block) in enumerate(zip(encodings, blocks, strict=True)):
        _write(workdir, f"encodings-{index}.npy", encoded)
        _write(workdir, f"blocks-{index}.json", block)
    links: list[SourceLink] = []
    for index in range(1, len(sources)):
        # Scored as blocking forms them, keeping what the links and the review's near misses
        # need (Dice at least threshold - BLOOM_BAND): memory stays bounded at any size.
        scored = similarity.scored_candidates(
            blocks[0], blocks[index], encodings[0], encodings[index],
            floor=threshold - review.BLOOM_BAND,
        )  # fmt: skip
        i, j, scores = scored.left, scored.right, scored.score
        _write(workdir, f"candidates-{index}.npy", np.stack([i, j]))
        keep = similarity.reaches(scores, threshold)
        chosen = similarity.one_to_one(i[keep], j[keep], scores[keep])
        sample = review.draw_scored(
            i, j, scores, chosen.left, chosen.right,
            sure_from=threshold + review.BLOOM_BAND, near_from=threshold - review.BLOOM_BAND,
            seed=_seed(scope, index),
        )  # fmt: skip
        links.append(
            SourceLink(
                dict(zip(chosen.left.tolist(), chosen.right.tolist(), strict=True)),
                scores=chosen.score.tolist(),
                sample=sample,
            )
        )
    return links


def link_probabilistic(
    sources: Sequence[Sequence[Mapping[str, object]]],
    present: set[str],
    threshold: float,
    workdir: Path,
    *,
    scope: str = "",
) -> list[SourceLink]:
    """Fellegi–Sunter on Splink, each source against the anchor, on a locked connection of
    the engine (``probabilistic``); the normalised fields and every scored pair are written to
    the work directory as the other methods' keys and candidates are."""
    prepared = [probabilistic.prepare(records) for records in sources]
    for index, table in enumerate(prepared):
        pq.write_table(table, workdir / f"normalised-{index}.parquet")
    links: list[SourceLink] = []
    for index in range(1, len(sources)):
        with probabilistic.locked_connection() as conn:
            scored = probabilistic.score(conn, prepared[0], prepared[index], present)
        _write(workdir, f"scored-{index}.npy", np.stack([scored.left, scored.right]))
        _write(workdir, f"model-{index}.json", scored.parameters)
        keep = scored.probability >= threshold
        chosen = similarity.one_to_one(
            scored.left[keep], scored.right[keep], scored.probability[keep]
        )
        sample = review.draw_scored(
            scored.left, scored.right, scored.probability, chosen.left, chosen.right,
            sure_from=max(threshold, review.PROBABILITY_SURE),
            near_from=min(threshold, review.PROBABILITY_NEAR),
            seed=_seed(scope, index),
        )  # fmt: skip
        links.append(
            SourceLink(
                dict(zip(chosen.left.tolist(), chosen.right.tolist(), strict=True)),
                scores=chosen.score.tolist(),
                comparisons=scored.comparisons,
                estimated=probabilistic.estimated_quality(scored, chosen),
                sample=sample,
            )
        )
    return links


def person_key(secret: bytes, scope: str, anchor_serial: int) -> str:
    """The linked dataset's pseudonymous person key: per project, meaningless outside it."""
    message = f"person\x1f{scope}\x1f{anchor_serial}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
