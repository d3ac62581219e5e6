"""The SDK's civic methods against a real hub (uvicorn on a loopback port): a resident posts
with a photo, residents support, the operator triages, the department opens the challenge,
measures the pilot; refusals arrive as the SDK's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.civic.civic_city import CivicCity
from tests.civic.photo_files import jpeg_with_exif

from bitgoeul.cli.server import make_server
from bitgoeul.client import AccessDenied, CivicProblem, Client, Conflict, ValidationFailed
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from live_hub import serving


@pytest.fixture
def hub_url(settings: Settings, civic: CivicCity) -> Iterator[str]:
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning")
    with serving(server) as url:
        yield url


def _as(hub_url: str, civic: CivicCity, who: str) -> Client:
    return Client(hub_url, civic.cast.tokens[who])


def test_a_problem_goes_from_post_to_measured_pilot_through_the_sdk(
    hub_url: str, civic: CivicCity, tmp_path: Path
) -> None:
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(jpeg_with_exif())
    with _as(hub_url, civic, "citizen") as citizen:
        problem = citizen.post_civic_problem(
            "Deep potholes on Hanam-daero",
            "Cars swerve around potholes near the industrial park every morning.",
            district="Gwangsan-gu",
            photos=[photo],
        )
        assert isinstance(problem, CivicProblem)
        assert len(problem.photos) == 1
        with pytest.raises(Conflict):
            citizen.support_civic_problem(problem.id)
    for who in ("resident0", "resident1", "resident2"):
        with _as(hub_url, civic, who) as resident:
            problem = resident.support_civic_problem(problem.id)
    assert problem.state == "triage"
    with _as(hub_url, civic, "member") as member, pytest.raises(AccessDenied):
        member.triage_civic_problem(problem.id, "accept", department="kepco")
    with _as(hub_url, civic, "operator") as operator:
        with pytest.raises(ValidationFailed):
            operator.triage_civic_problem(problem.id, "decline")
        operator.triage_civic_problem(problem.id, "accept", department="kepco")
        operator.propose_civic_metric(
            problem.id,
            metric="mae",
            indicator="Minutes without power per month",
            dataset=civic.indicator.slug,
            column="minutes",
            period="month",
            baseline=50,
            target=20,
        )
    now = utcnow()
    with _as(hub_url, civic, "steward_of_publisher") as kepco:
        allowed = kepco.civic_problem(problem.id).allowed
        assert allowed == ["propose_metric", "agree_metric", "decline"]
        kepco.agree_civic_metric(problem.id)
        opened = kepco.open_civic_challenge(
            problem.id,
            test_dataset=civic.test_set.slug,
            label_column="kwh",
            final_phase_at=now + timedelta(days=5),
            deadline=now + timedelta(days=9),
        )
        assert opened.challenge is not None
        assert opened.challenge.task == f"civic-{problem.id}"
        kepco.start_civic_pilot(problem.id, "Feeder reconfiguration on three streets.")
        measured = kepco.measure_civic_indicator(problem.id)
    assert measured.challenge is not None
    assert measured.challenge.progress == pytest.approx(0.5)
    with Client(hub_url) as anonymous:
        assert anonymous.civic_counts().pilots == 1
        listed = anonymous.civic_problems(state="pilot")
        assert [p.id for p in listed.problems] == [problem.id]
