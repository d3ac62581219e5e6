"""The demo city's three linkage runs scored against the truth kept on the hub's disk.

Builds the demo city (``--people`` residents) into a new data directory, then for each run
reads the linked dataset's serials and the sources' record ids (their first column, in the
published versions' row order) and looks each pair up in ``demo-sources/linkage-truth.csv``:
a link is right when both records belong to the same resident. Recall is over the pairs of
records of the two sources that belong to the same resident.

A measurement by the operator on the hub's own disk, not a door: it reads files the build
wrote, as the build itself did.

    python benchmarks/linkage_demo.py            # the demo's own size and seed
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo.build import DEFAULT_PEOPLE, DEFAULT_SEED, SOURCE_DIR_NAME, build_demo_city
from bitgoeul.demo.datasets import LINKAGE_TRUTH_FILENAME
from bitgoeul.linkage.models import LinkageProject, LinkageRun
from bitgoeul.storage import make_store


def _version_table(session: Session, settings: Settings, slug: str, number: int) -> pa.Table:
    store = make_store(settings)
    dataset = session.scalars(select(Dataset).where(Dataset.slug == slug)).one()
    version = session.scalars(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number
        )
    ).one()
    path = store.local_path(version.object_key)
    assert path is not None
    return pq.read_table(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bitgoeul-demo-") as folder:
        settings = Settings(data_dir=Path(folder), environment=Environment.demo)
        started = time.perf_counter()
        build_demo_city(settings, people=args.people, seed=args.seed)
        took = time.perf_counter() - started
        print(f"demo city of {args.people:,} residents built in {took:.0f} s")
        owner: dict[tuple[str, str], str] = {}
        truth_file = settings.resolved_data_dir / SOURCE_DIR_NAME / LINKAGE_TRUTH_FILENAME
        with truth_file.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                owner[(row["dataset"], row["record_id"])] = row["resident_id"]
        engine = make_engine(settings)
        print("\n| method | sources | links | right | precision | recall | report's estimate |")
        print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
        with make_sessionmaker(engine)() as session:
            for run in session.scalars(select(LinkageRun).order_by(LinkageRun.id)):
                project = session.get(LinkageProject, run.linkage_project_id)
                assert project is not None
                assert run.dataset_id is not None
                linked_dataset = session.get(Dataset, run.dataset_id)
                assert linked_dataset is not None
                linked = _version_table(session, settings, linked_dataset.slug, 1)
                ids = []
                for source in project.sources:
                    table = _version_table(session, settings, source["dataset"], source["version"])
                    ids.append([str(v) for v in table.column(0).to_pylist()])
                anchor, other = project.sources[0]["dataset"], project.sources[1]["dataset"]
                serials = [
                    linked.column(f"{s['dataset'].replace('-', '_')}_serial").to_pylist()
                    for s in project.sources[:2]
                ]
                right = sum(
                    owner.get((anchor, ids[0][a - 1])) is not None
                    and owner.get((anchor, ids[0][a - 1])) == owner.get((other, ids[1][b - 1]))
                    for a, b in zip(*serials, strict=True)
                )
                residents: dict[str, list[int]] = defaultdict(lambda: [0, 0])
                for side, (slug, records) in enumerate(((anchor, ids[0]), (other, ids[1]))):
                    for record in records:
                        resident = owner.get((slug, record))
                        if resident is not None:
                            residents[resident][side] += 1
                possible = sum(min(a, b) for a, b in residents.values())
                links = len(serials[0])
                quality = run.report.get("quality", {})
                estimate = (
                    f"{quality['precision']:.3f} / {quality['recall']:.3f}"
                    if quality.get("precision") is not None
                    else "none"
                )
                print(
                    f"| {project.method.value} | {anchor} ⋈ {other} | {links} | {right} | "
                    f"{right / links if links else 1.0:.3f} | "
                    f"{right / possible if possible else 1.0:.3f} | {estimate} |"
                )
        engine.dispose()


if __name__ == "__main__":
    main()
