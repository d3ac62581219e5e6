"""The SDK's My Data methods against a real hub served over HTTP: a donor previews, donates,
sees a use, withdraws and verifies a receipt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from tests.client.conftest import hub_url  # noqa: F401
from tests.mydata.conftest import DONORS, MONTHS, POOL, SOURCE, Ask, DonorCity

from bitgoeul.client import Client, NotFound
from bitgoeul.mydata import receipts


@pytest.fixture
def donor(hub_url: str, town: DonorCity) -> Iterator[Client]:  # noqa: F811
    with Client(hub_url, token=town.citizen_tokens[DONORS]) as client:
        yield client


def test_a_donor_uses_the_sdk_from_preview_to_withdrawal(
    donor: Client, db: Session, town: DonorCity, ask: Ask
) -> None:
    assert donor.mydata_sources()[0]["connected"] is True
    preview = donor.mydata_preview(SOURCE)
    assert len(preview["rows"]) == len(MONTHS)
    donation = donor.donate(
        SOURCE, consent={"purposes": ["academic-research"], "tier": "aggregates"}
    )
    consent = donation["consents"][0]
    ask(f'SELECT count(*) AS n FROM "{POOL}"')
    (use,) = donor.mydata_uses()
    assert use["project"] == town.project_id
    withdrawn = donor.withdraw_consent(consent["id"])
    assert withdrawn["status"] == "withdrawn"
    receipt_id = withdrawn["events"][-1]["receipt"]
    document = donor.consent_receipt(receipt_id)["document"]
    assert document["event"]["type"] == "withdrawn"
    assert receipts.verify(document).valid
    assert donor.verify_receipt(document)["valid"] is True
    with pytest.raises(NotFound):
        donor.withdraw_consent(consent["id"] + 1000)
