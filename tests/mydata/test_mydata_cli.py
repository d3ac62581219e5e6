"""``bitgoeul mydata ...`` as a donor and an operator: the same actions as the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session
from tests.cli.conftest import invoke  # noqa: F401
from tests.cli.outcomes import ok, refused
from tests.mydata.conftest import DONORS, MONTHS, SOURCE, DonorCity, consent_of
from typer.testing import Result

Invoke = Callable[..., Result]


def test_a_resident_previews_donates_and_withdraws_from_the_shell(
    invoke: Invoke,  # noqa: F811
    db: Session,
    town: DonorCity,
) -> None:
    who = f"citizen{DONORS}"
    preview = json.loads(ok(invoke("mydata", "preview", SOURCE, "--as", who, "--format", "json")))
    assert len(preview["rows"]) == len(MONTHS)
    done = ok(
        invoke(
            "mydata", "donate", SOURCE, "--as", who, "--item", "kwh", "--drop-row", "2",
            "--purpose", "academic-research", "--tier", "jobs",
        )
    )  # fmt: skip
    assert f"{len(MONTHS) - 1} rows of kwh" in done
    donations = json.loads(ok(invoke("mydata", "donations", "--as", who, "--format", "json")))
    consent = donations[0]["consents"][0]["id"]
    ok(invoke("mydata", "withdraw", str(consent), "--as", who))
    again = refused(invoke("mydata", "withdraw", str(consent), "--as", who))
    assert "already withdrawn" in again
    other = refused(invoke("mydata", "withdraw", str(consent_of(db, town, 0)), "--as", who))
    assert "no consent" in other


def test_a_receipt_written_by_the_cli_verifies_offline_until_a_field_changes(
    invoke: Invoke,  # noqa: F811
    town: DonorCity,
    tmp_path: Path,
) -> None:
    donations = json.loads(
        ok(invoke("mydata", "donations", "--as", "citizen0", "--format", "json"))
    )
    receipt_id = donations[0]["consents"][0]["events"][0]["receipt"]
    target = tmp_path / "receipt.json"
    ok(invoke("mydata", "receipt", str(receipt_id), "--as", "citizen0", "--out", str(target)))
    key = ok(invoke("mydata", "receipt-key")).strip()
    assert "intact" in ok(invoke("mydata", "verify-receipt", str(target), "--public-key", key))
    document = json.loads(target.read_text(encoding="utf-8"))
    document["bitgoeul:retentionDays"] += 1
    target.write_text(json.dumps(document), encoding="utf-8")
    assert "changed" in refused(invoke("mydata", "verify-receipt", str(target)))
    assert "not a readable JSON" in refused(
        invoke("mydata", "verify-receipt", str(tmp_path / "nope"))
    )


def test_only_operators_start_campaigns_and_read_counts_from_the_shell(
    invoke: Invoke,  # noqa: F811
    town: DonorCity,
) -> None:
    args = [
        "mydata", "campaign", "winter-power", "--source", SOURCE,
        "--purpose", "public-service-improvement", "--target", "50", "--title", "Power",
        "--title-ko", "전력", "--explanation", "Why", "--explanation-ko", "왜",
        "--start", "2026-12-01", "--end", "2027-02-28",
    ]  # fmt: skip
    assert "operators" in refused(invoke(*args, "--as", "citizen0"))
    ok(invoke(*args, "--as", "hub-operator"))
    listed = json.loads(ok(invoke("mydata", "campaigns", "--format", "json")))
    assert listed[0]["slug"] == "winter-power"
    counts = json.loads(ok(invoke("mydata", "counts", "--as", "hub-operator")))
    assert counts["donors"] == DONORS
    refused(invoke("mydata", "counts", "--as", "citizen0"))
    assert "0 consents expired" in ok(invoke("mydata", "sweep"))
