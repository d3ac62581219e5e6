"""The message catalogs: English and Korean hold the same keys, and every key a page uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.catalog.models import AccessLevel, IngestStatus, Sector
from bitgoeul.catalog.schemas import UpdateFrequency
from bitgoeul.civic.schemas import READINESS_REASONS
from bitgoeul.civic.states import ProblemState, Side
from bitgoeul.compute.models import JobStatus, ReleaseStatus, ReviewVerdict
from bitgoeul.governance.decision import ColumnClass
from bitgoeul.governance.models import ProjectRole, Purpose, RequestStatus
from bitgoeul.linkage.models import LinkageMethod
from bitgoeul.linkage.models import RunStatus as LinkageRunStatus
from bitgoeul.linkage.review import STRATA
from bitgoeul.mydata.actions import USE_EVENTS
from bitgoeul.mydata.models import ConsentStatus, EventKind, Tier
from bitgoeul.programmes.models import (
    ApplicationStatus,
    EnrolmentStatus,
    LabAggregate,
    LabJobStatus,
)
from bitgoeul.query.models import RunStatus
from bitgoeul.tower.indicators import DEFINITIONS, GROUPS
from bitgoeul.web.audit_pages import RESULTS, SENTENCE_ACTIONS
from bitgoeul.web.civic_pages import DECISIONS, NOTICES
from bitgoeul.web.i18n import LANGUAGES, message_catalog
from bitgoeul.web.mydata_pages import NOTICES as MYDATA_NOTICES
from bitgoeul.web.query_pages import EXAMPLES

WEB = Path(__file__).resolve().parents[2] / "src" / "bitgoeul" / "web"
# t("key") or t('key', ...) in templates and views; "t" alone, not ".get(" or "format(".
STATIC_KEY = re.compile(r"""(?<![\w.])t\(\s*["']([a-z0-9_.\-]+)["']""")
# t("prefix." ~ value): keys built from an enum; each member must have its message.
DYNAMIC_KEYS = {
    "sector.": [s.value for s in Sector],
    "access.": [a.value for a in AccessLevel],
    "access_help.": [a.value for a in AccessLevel],
    "org.kind.": [k.value for k in OrganizationKind],
    "ingest.status.": [s.value for s in IngestStatus],
    "freq.": [f.value for f in UpdateFrequency],
    "facet.": ["sector", "publisher", "access_level", "licence"],
    "lang.": list(LANGUAGES),
    "chart.": ["histogram", "top"],
    "error.title.": ["401", "403", "404", "409", "413", "422", "429", "other"],
    "purpose.": [p.value for p in Purpose],
    "request.status.": [s.value for s in RequestStatus],
    "run.status.": [s.value for s in RunStatus],
    "project.role.": [r.value for r in ProjectRole],
    "query.class.": [c.value for c in ColumnClass],
    "audit.title.": ["all", "organization", "own"],
    "audit.lede.": ["all", "organization", "own"],
    "job.status.": [s.value for s in JobStatus],
    "release.status.": [s.value for s in ReleaseStatus],
    "release.verdict.": [v.value for v in ReviewVerdict],
    "credits.reason.": ["grant", "job_reservation", "job_refund"],
    "check.severity.": ["block", "warn"],
    "role.": [r.value for r in Role],
    "sentence.": [*SENTENCE_ACTIONS, "other"],
    "auditlog.result.": list(RESULTS),
    "linkage.method.": [m.value for m in LinkageMethod],
    "linkage.status.": [s.value for s in LinkageRunStatus],
    "query.example.": list(EXAMPLES),
    "tower.group.": list(GROUPS),
    "tower.indicator.": [d.key for d in DEFINITIONS],
    "tower.unit.": ["hours", "days", "epsilon"],
    "programmes.status.": [s.value for s in ApplicationStatus],
    "academy.status.": [s.value for s in EnrolmentStatus],
    "academy.lab_rule.": [a.value for a in LabAggregate],
    "academy.lab_job_status.": [s.value for s in LabJobStatus],
    "civic.state.": [s.value for s in ProblemState],
    "linkage.stratum.": list(STRATA),
    "civic.notice.": list(NOTICES),
    "civic.decision.": list(DECISIONS),
    "civic.proposed_by.": [s.value for s in Side],
    "civic.why.": list(READINESS_REASONS),
    "civic.every.": ["as_is", "day", "week", "month", "quarter", "year"],
    "mydata.notice.": list(MYDATA_NOTICES),
    "mydata.tier.": [t.value for t in Tier],
    "mydata.tier_help.": [t.value for t in Tier],
    "mydata.status.": [s.value for s in ConsentStatus],
    "mydata.event.": [k.value for k in EventKind],
    "mydata.door.": list(USE_EVENTS.values()),
}


def _sources() -> list[Path]:
    return sorted([*(WEB / "templates").glob("*.html"), *WEB.glob("*.py")])


def _found_in_sources() -> set[str]:
    return {key for path in _sources() for key in STATIC_KEY.findall(path.read_text("utf-8"))}


def _used_keys() -> set[str]:
    keys = {key for key in _found_in_sources() if not key.endswith(".")}
    keys |= {prefix + value for prefix, values in DYNAMIC_KEYS.items() for value in values}
    return keys


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_english_and_korean_catalogs_hold_the_same_keys() -> None:
    english, korean = set(message_catalog("en")), set(message_catalog("ko"))
    assert english - korean == set(), "keys missing from ko.json"
    assert korean - english == set(), "keys missing from en.json"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_pages_use_is_in_the_catalog(lang: str) -> None:
    missing = _used_keys() - set(message_catalog(lang))
    assert not missing, f"add these keys to web/locales/{lang}.json: {sorted(missing)}"


def test_every_catalog_key_is_used_somewhere() -> None:
    unused = set(message_catalog("en")) - _used_keys()
    assert not unused, f"remove unused keys from web/locales/*.json: {sorted(unused)}"


def test_translations_keep_the_placeholders_of_the_english_message() -> None:
    english, korean = message_catalog("en"), message_catalog("ko")
    differ = [k for k in english if _placeholders(english[k]) != _placeholders(korean.get(k, ""))]
    assert not differ, f"placeholders differ between en and ko in: {differ}"


def test_every_built_key_prefix_is_listed_here() -> None:
    prefixes = {key for key in _found_in_sources() if key.endswith(".")}
    assert prefixes <= set(DYNAMIC_KEYS), f"list the values of {prefixes - set(DYNAMIC_KEYS)}"


def test_the_scan_finds_keys_in_templates() -> None:
    assert "nav.sign_in" in _used_keys()
    assert "tokens.revoke_named" in _used_keys()
