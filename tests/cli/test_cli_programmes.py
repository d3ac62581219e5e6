"""Programmes from the shell: a startup applies, an operator approves and the credits arrive;
the academy's course, cohort and enrolment; bad options are named."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from tests.catalog.conftest import _org, _user
from tests.cli.outcomes import ok, refused
from typer.testing import Result

from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.compute import queries as compute_queries

Invoke = Callable[..., Result]
SUMMARY = "Crop disease detection from drone images of farms"


def _people(db: Session) -> int:
    startup = _org(db, "vision-lab", "Vision Lab", "비전랩", OrganizationKind.company)
    _user(db, "founder", Role.member, startup)
    _user(db, "hub-operator", Role.operator, None)
    _user(db, "minji", Role.citizen, None)
    db.commit()
    return startup.id


def test_a_startup_applies_and_an_operator_approves(invoke: Invoke, db: Session) -> None:
    startup = _people(db)
    out = ok(
        invoke(
            "programme", "apply", "--as", "founder", "--summary", SUMMARY,
            "--employees", "12", "--gpu-hours", "40", "--data-access-help",
        )
    )  # fmt: skip
    assert "Submitted application 1 for vision-lab." in out
    assert "1 vision-lab submitted" in ok(invoke("programme", "list", "--as", "hub-operator"))
    assert "No applications." in ok(invoke("programme", "list", "--as", "minji"))
    assert "operators" in refused(
        invoke("programme", "review", "1", "--as", "founder", "--decision", "approve")
    )
    out = ok(
        invoke(
            "programme", "review", "1", "--as", "hub-operator", "--decision", "approve",
            "--gpu-hours", "30",
        )
    )  # fmt: skip
    assert "30 GPU-hours granted to vision-lab" in out
    assert compute_queries.balance(db, startup).gpu_hours == 30
    assert "submitted" in refused(invoke("programme", "withdraw", "1", "--as", "founder"))


def test_bad_options_are_named(invoke: Invoke, db: Session) -> None:
    _people(db)
    assert "--summary" in refused(
        invoke("programme", "apply", "--as", "founder", "--summary", "short", "--gpu-hours", "1")
    )
    assert "--decision" in refused(
        invoke("programme", "review", "1", "--as", "hub-operator", "--decision", "maybe")
    )
    ok(invoke("academy", "create-course", "--as", "hub-operator", "--slug", "ai-basics",
              "--title", "AI basics"))  # fmt: skip
    assert "--ends" in refused(
        invoke("academy", "add-cohort", "ai-basics", "--as", "hub-operator", "--name", "x",
               "--starts", "2027-03-01", "--ends", "someday")
    )  # fmt: skip


def test_a_course_with_a_cohort_takes_an_enrolment(invoke: Invoke, db: Session) -> None:
    _people(db)
    ok(invoke("academy", "create-course", "--as", "hub-operator", "--slug", "ai-basics",
              "--title", "AI basics", "--title-ko", "AI 기초"))  # fmt: skip
    out = ok(
        invoke("academy", "add-cohort", "ai-basics", "--as", "hub-operator", "--name", "Winter",
               "--starts", "2026-01-01", "--ends", "2099-12-31", "--capacity", "2")
    )  # fmt: skip
    assert "Opened cohort 1 (Winter) of ai-basics." in out
    assert "Enrolled: enrolment 1 in cohort 1." in ok(
        invoke("academy", "enrol", "1", "--as", "minji")
    )
    assert "1/2 places taken" in ok(invoke("academy", "courses"))
    assert "ai-basics / Winter: enrolled" in ok(invoke("academy", "enrolments", "--as", "minji"))
    assert "already" in refused(invoke("academy", "enrol", "1", "--as", "minji"))
    assert "There is no testbed task" in refused(
        invoke("academy", "add-lab", "ai-basics", "--as", "hub-operator", "--slug", "lab-one",
               "--title", "Lab one", "--task", "nope", "--pass-mark", "0.5")
    )  # fmt: skip


def test_a_job_lab_needs_its_rule_and_takes_only_the_trainees_own_job(
    invoke: Invoke, db: Session
) -> None:
    _people(db)
    ok(invoke("academy", "create-course", "--as", "hub-operator", "--slug", "ai-basics",
              "--title", "AI basics"))  # fmt: skip
    assert "grading rule (aggregate)" in refused(
        invoke("academy", "add-lab", "ai-basics", "--as", "hub-operator", "--slug", "count",
               "--title", "Count rows", "--dataset", "household-electricity")
    )  # fmt: skip
    assert "There is no dataset" in refused(
        invoke("academy", "add-lab", "ai-basics", "--as", "hub-operator", "--slug", "count",
               "--title", "Count rows", "--dataset", "nope", "--aggregate", "row_count")
    )  # fmt: skip
    ok(invoke("academy", "add-cohort", "ai-basics", "--as", "hub-operator", "--name", "Winter",
              "--starts", "2026-01-01", "--ends", "2099-12-31", "--capacity", "2"))  # fmt: skip
    ok(invoke("academy", "enrol", "1", "--as", "minji"))
    assert "no lab" in refused(
        invoke("academy", "attach-job", "1", "count", "--as", "minji", "--job", "7")
    )
