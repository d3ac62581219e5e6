"""Control-tower page render time with a year of daily snapshots.

Builds a hub on a temporary SQLite database, keeps 365 daily snapshots of every indicator, and
times (in-process, over HTTP) the public page ``/tower`` with its server-drawn SVG charts beside
the same history as JSON from ``/api/v1/tower/history?days=365`` (the reference: the same rows
read and serialised, no charts).  Prints median and p95 of each and the page's overhead.
Target: the page in under 300 ms.

    python benchmarks/tower.py                  # 365 days, 25 runs each
    python benchmarks/tower.py --days 730 --repeat 50
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from bitgoeul.app import create_app
from bitgoeul.config import Environment, Settings
from bitgoeul.db.base import utcnow
from bitgoeul.tower.indicators import DEFINITIONS
from bitgoeul.tower.models import TowerSnapshot


def _timed(call: Callable[[], None], repeat: int) -> list[float]:
    call()  # templates compiled, caches warm
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    return sorted(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            environment=Environment.test, data_dir=Path(tmp), secret_key="bench-" + "x" * 40
        )
        app = create_app(settings)
        keys = [d.key for d in DEFINITIONS]
        today = utcnow().date()
        with app.state.sessionmaker() as session:
            for back in range(args.days):
                session.add(
                    TowerSnapshot(
                        day=today - timedelta(days=back),
                        values={k: float(1000 + back * 7 + i) for i, k in enumerate(keys)},
                        bases=dict.fromkeys(keys, 1000 + back),
                    )
                )
            session.commit()
        with TestClient(app) as client:

            def page() -> None:
                response = client.get("/tower", headers={"accept": "text/html"})
                assert response.status_code == 200
                assert response.text.count("<polyline") >= 20

            def history() -> None:
                response = client.get("/api/v1/tower/history", params={"days": args.days})
                assert response.status_code == 200
                assert len(response.json()) == args.days

            rows = {"/tower (page, SVG charts)": _timed(page, args.repeat)}
            rows["/api/v1/tower/history (JSON, reference)"] = _timed(history, args.repeat)
    print(f"{args.days} daily snapshots of {len(keys)} indicators, {args.repeat} runs each")
    print(f"{'what':<42} {'median ms':>10} {'p95 ms':>8}")
    for name, runs in rows.items():
        p95 = runs[min(len(runs) - 1, int(0.95 * len(runs)))]
        print(f"{name:<42} {statistics.median(runs) * 1000:>10.1f} {p95 * 1000:>8.1f}")
    page_ms, json_ms = (statistics.median(r) * 1000 for r in rows.values())
    print(
        f"page over the JSON: {page_ms / json_ms:.2f}x; target page < 300 ms: "
        f"{'met' if page_ms < 300 else 'not met'}"
    )


if __name__ == "__main__":
    main()
