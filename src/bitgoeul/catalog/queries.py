"""Reads for the catalog: datasets, versions, ingest runs, search with facets, DCAT export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization
from bitgoeul.catalog import dcat, search_text
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion, IngestRun, Sector
from bitgoeul.catalog.schemas import (
    AppliedObligations,
    DatasetKind,
    DatasetPublic,
    DatasetSummary,
    FacetCount,
    IngestRunPublic,
    SearchResults,
    VersionPublic,
    VersionSummary,
)
from bitgoeul.catalog.search_index import FTS_TABLE
from bitgoeul.datasets.queries import get_dataset as get_dataset
from bitgoeul.datasets.queries import latest_version as latest_version
from bitgoeul.errors import NotFound
from bitgoeul.governance.decision import DataAction, Obligations, decide
from bitgoeul.ingest.report import restored as restored_report
from bitgoeul.messages import msg
from bitgoeul.privacy import views

MAX_PAGE = 100
FACETS = ("sector", "publisher", "access_level", "licence")
SUMMARY_DESCRIPTION_CHARS = 300
# bm25 weights of (search_title, search_document): a title hit counts four times as much.
_BM25_WEIGHTS = (4.0, 1.0)


def get_version(session: Session, slug: str, number: int | None = None) -> DatasetVersion:
    """A version by number, or the latest when ``number`` is None."""
    return version_of(session, get_dataset(session, slug), number)


def version_of(session: Session, dataset: Dataset, number: int | None = None) -> DatasetVersion:
    """A version of a dataset already loaded, by number, or the latest when ``number`` is
    None."""
    if number is None:
        version = latest_version(session, dataset)
    else:
        version = session.scalars(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number
            )
        ).first()
    if version is None:
        if number is None:
            raise NotFound(
                msg(
                    "Dataset '{slug}' has no version yet; a steward must upload one.",
                    slug=dataset.slug,
                )
            )
        raise NotFound(
            msg("Dataset '{slug}' has no version {number}.", slug=dataset.slug, number=number)
        )
    return version


def latest_versions(session: Session, dataset_ids: Sequence[int]) -> dict[int, DatasetVersion]:
    """``latest_version`` for many datasets in one statement, by dataset id."""
    if not dataset_ids:
        return {}
    newest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("number"))
        .where(DatasetVersion.dataset_id.in_(dataset_ids))
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    rows = session.scalars(
        select(DatasetVersion).join(
            newest,
            (DatasetVersion.dataset_id == newest.c.dataset_id)
            & (DatasetVersion.number == newest.c.number),
        )
    ).all()
    return {version.dataset_id: version for version in rows}


def version_public(actor: Actor, dataset: Dataset, version: DatasetVersion) -> VersionPublic:
    """A version as the actor may see it: a profile summarises rows, so it follows preview."""
    decision = decide(actor, DataAction.preview, dataset)
    return VersionPublic(
        dataset=dataset.slug,
        number=version.number,
        source_filename=version.source_filename,
        source_format=version.source_format,
        source_encoding=version.source_encoding,
        source_sha256=version.source_sha256,
        source_bytes=version.source_bytes,
        parquet_sha256=version.parquet_sha256,
        parquet_bytes=version.parquet_bytes,
        row_count=version.row_count,
        table_schema=version.table_schema,
        profile=version.profile if decision.allowed else None,
        profile_withheld="" if decision.allowed else decision.reason,
        note=version.note,
        created_at=version.created_at,
    )


def applied_obligations(
    obligations: Obligations, version: DatasetVersion, *, project_id: int | None
) -> AppliedObligations:
    """What ``obligations`` do to ``version``'s columns, as a preview or download reports it."""
    names = [str(f["name"]) for f in views.schema_fields(version.table_schema)]
    visible = obligations.visible_columns
    pseudonymised = {c.lower() for c in obligations.pseudonymise_columns}
    return AppliedObligations(
        project=project_id,
        agreement=obligations.agreement_id,
        hidden_columns=[n for n in names if visible is not None and n not in visible],
        row_filter=obligations.row_filter,
        pseudonymised_columns=[n for n in names if n.lower() in pseudonymised],
    )


def _version_summary(version: DatasetVersion) -> VersionSummary:
    return VersionSummary(
        number=version.number,
        source_filename=version.source_filename,
        source_format=version.source_format,
        row_count=version.row_count,
        parquet_bytes=version.parquet_bytes,
        note=version.note,
        created_at=version.created_at,
    )


def dataset_public(session: Session, *, actor: Actor, slug: str) -> DatasetPublic:
    """Everything about a dataset that anyone may read (metadata is public)."""
    dataset = get_dataset(session, slug)
    versions = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number.desc())
    ).all()
    publisher = dataset.publisher
    return DatasetPublic(
        slug=dataset.slug,
        title=dataset.title,
        title_ko=dataset.title_ko,
        description=dataset.description,
        description_ko=dataset.description_ko,
        publisher=publisher.slug,
        publisher_name=publisher.name,
        publisher_name_ko=publisher.name_ko,
        sector=dataset.sector,
        keywords=list(dataset.keywords),
        licence=dataset.licence,
        access_level=dataset.access_level,
        temporal_start=dataset.temporal_start,
        temporal_end=dataset.temporal_end,
        spatial=dataset.spatial,
        update_frequency=dataset.update_frequency,
        contact_name=dataset.contact_name,
        contact_email=dataset.contact_email,
        min_group_size=dataset.min_group_size,
        dominance_n=dataset.dominance_n,
        dominance_k=dataset.dominance_k,
        holdout=dataset.holdout,
        created_at=dataset.created_at,
        updated_at=dataset.updated_at,
        versions=[_version_summary(v) for v in versions],
        latest=version_public(actor, dataset, versions[0]) if versions else None,
    )


def _candidates(session: Session, terms: list[search_text.Term]) -> Select[*tuple[Any, ...]]:
    """Datasets matching the text (all of them without text), with what facets and order need.

    Columns: ``id``, ``score`` (relevance, higher is better; ``updated_at`` without text),
    then the facet values (text; the publisher's organization id).
    """
    facet_columns = (
        type_coerce(Dataset.sector, String).label("sector"),
        Dataset.publisher_id.label("publisher"),
        type_coerce(Dataset.access_level, String).label("access_level"),
        Dataset.licence.label("licence"),
        Dataset.holdout.label("holdout"),
    )
    if not terms:
        return select(Dataset.id.label("id"), Dataset.updated_at.label("score"), *facet_columns)
    if session.get_bind().dialect.name == "postgresql":
        query = func.to_tsquery(literal_column("'simple'::regconfig"), search_text.tsquery(terms))
        vector = Dataset.__table__.c.search_vector
        return select(
            Dataset.id.label("id"), func.ts_rank(vector, query).label("score"), *facet_columns
        ).where(vector.op("@@")(query))
    fts = table(FTS_TABLE, column("rowid"))
    fts_name: ColumnElement[Any] = literal_column(FTS_TABLE)
    return (
        select(
            Dataset.id.label("id"),
            (-func.bm25(fts_name, *_BM25_WEIGHTS)).label("score"),
            *facet_columns,
        )
        .select_from(fts)
        .join(Dataset, Dataset.id == fts.c.rowid)
        .where(fts_name.op("MATCH")(search_text.fts5_query(terms)))
    )


def _clean(value: str | None) -> str | None:
    # NUL cannot be stored in PostgreSQL text, so it is in no value; drop it.
    return value.replace("\x00", "") if value else None


def search_datasets(
    session: Session,
    *,
    q: str = "",
    sector: str | None = None,
    publisher: str | None = None,
    access_level: str | None = None,
    licence: str | None = None,
    kind: str | None = DatasetKind.dataset.value,
    limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """Full-text search (Korean and English) with facet filters and facet counts.

    ``kind`` keeps testbeds' hidden test sets out of the listing (``dataset``, the default),
    shows only them (``test_set``), or both (None): a hidden test set is not an ordinary
    dataset that one previews, downloads or requests.

    Without a text query every dataset matches, most recently updated first; with one, the
    most relevant first.  Each facet is counted with the text query and the *other* facets'
    filters applied, so a chosen sector still shows the sectors one could switch to.  Unknown
    sector or access level values raise ``ValueError`` (the API validates them first).

    One statement answers the total, the four facet counts and the page's ids: the text
    matches are materialised once (a CTE) and grouped and ranked from there.
    """
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    organizations = {
        row.id: row
        for row in session.execute(select(Organization.id, Organization.slug, Organization.name))
    }
    wanted: dict[str, str | int] = {}
    if sector:
        wanted["sector"] = Sector(sector).value
    if publisher:
        slug = _clean(publisher)
        wanted["publisher"] = next(
            (org.id for org in organizations.values() if org.slug == slug), -1
        )
    if access_level:
        wanted["access_level"] = AccessLevel(access_level).value
    if licence:
        wanted["licence"] = _clean(licence) or ""

    test_sets = None if kind is None else DatasetKind(kind) == DatasetKind.test_set

    terms = search_text.query_terms(q)
    if terms:
        # Evaluate the text match once for the total, the four facets and the page.
        hits: Any = _candidates(session, terms).cte("hits").prefix_with("MATERIALIZED")
    else:
        hits = _candidates(session, terms).subquery("hits")

    def where(*, but: str | None = None) -> list[ColumnElement[bool]]:
        chosen = [hits.c[name] == value for name, value in wanted.items() if name != but]
        if test_sets is not None:
            chosen.append(hits.c.holdout.is_(true()) if test_sets else hits.c.holdout.is_(false()))
        return chosen

    ranked = (
        select(
            hits.c.id,
            func.row_number()
            .over(order_by=(hits.c.score.desc(), hits.c.id.desc()))
            .label("position"),
        )
        .where(*where())
        .subquery("ranked")
    )
    statement = union_all(
        select(literal("total"), literal(""), func.count()).select_from(hits).where(*where()),
        *(
            select(literal(name), cast(hits.c[name], String), func.count())
            .select_from(hits)
            .where(*where(but=name))
            .group_by(hits.c[name])
            for name in FACETS
        ),
        select(literal("page"), cast(ranked.c.id, String), ranked.c.position).where(
            ranked.c.position > offset, ranked.c.position <= offset + limit
        ),
    )
    total = 0
    facets: dict[str, list[FacetCount]] = {name: [] for name in FACETS}
    page: list[tuple[int, int]] = []
    for name, value, count in session.execute(statement):
        if name == "total":
            total = count
        elif name == "page":
            page.append((count, int(value)))
        elif name == "publisher":
            org = organizations.get(int(value))
            slug_or_id = org.slug if org else value
            label = org.name if org else value
            facets[name].append(FacetCount(value=slug_or_id, label=label, count=count))
        else:
            facets[name].append(FacetCount(value=value, label=value, count=count))
    for entries in facets.values():
        entries.sort(key=lambda f: (-f.count, f.value))
    ids = [dataset_id for _position, dataset_id in sorted(page)]

    datasets = {
        d.id: d
        for d in session.scalars(
            select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.publisher))
        )
    }
    latest = latest_versions(session, ids)
    items = [_summary(datasets[i], latest.get(i)) for i in ids]
    return SearchResults(items=items, total=total, facets=facets, limit=limit, offset=offset)


def _shortened(description: str) -> str:
    if len(description) > SUMMARY_DESCRIPTION_CHARS:
        return description[: SUMMARY_DESCRIPTION_CHARS - 1].rstrip() + "…"
    return description


def _summary(dataset: Dataset, latest: DatasetVersion | None) -> DatasetSummary:
    return DatasetSummary(
        slug=dataset.slug,
        title=dataset.title,
        title_ko=dataset.title_ko,
        description=_shortened(dataset.description or dataset.description_ko),
        description_ko=_shortened(dataset.description_ko),
        publisher=dataset.publisher.slug,
        publisher_name=dataset.publisher.name,
        publisher_name_ko=dataset.publisher.name_ko,
        sector=dataset.sector,
        access_level=dataset.access_level,
        licence=dataset.licence,
        keywords=list(dataset.keywords),
        latest_version=latest.number if latest else None,
        updated_at=dataset.updated_at,
        holdout=dataset.holdout,
    )


def get_ingest_run(session: Session, run_id: int) -> IngestRun:
    run = session.get(IngestRun, run_id)
    if run is None:
        raise NotFound(msg("There is no ingest run {run}.", run=run_id))
    return run


def ingest_run_public(session: Session, run: IngestRun) -> IngestRunPublic:
    slug = session.scalar(select(Dataset.slug).where(Dataset.id == run.dataset_id)) or ""
    number = (
        session.scalar(select(DatasetVersion.number).where(DatasetVersion.id == run.version_id))
        if run.version_id is not None
        else None
    )
    return IngestRunPublic(
        id=run.id,
        dataset=slug,
        status=run.status,
        source_filename=run.source_filename,
        bytes_total=run.bytes_total,
        bytes_done=run.bytes_done,
        rows_done=run.rows_done,
        error_report=restored_report(run.error_report),
        text_fallbacks=(run.text_fallbacks or {}).get("columns", []),
        version=number,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def list_ingest_runs(session: Session, *, slug: str, limit: int = 20) -> list[IngestRun]:
    """A dataset's most recent uploads, newest first."""
    dataset = get_dataset(session, slug)
    return list(
        session.scalars(
            select(IngestRun)
            .where(IngestRun.dataset_id == dataset.id)
            .order_by(IngestRun.started_at.desc(), IngestRun.id.desc())
            .limit(max(1, min(limit, MAX_PAGE)))
        )
    )


def dcat_catalog(session: Session, *, base_url: str) -> dict[str, Any]:
    """The whole catalog as DCAT-AP 3 JSON-LD (see ``catalog/dcat.py``)."""
    datasets = list(
        session.scalars(
            select(Dataset).options(selectinload(Dataset.publisher)).order_by(Dataset.slug)
        )
    )
    latest = latest_versions(session, [d.id for d in datasets])
    return dcat.catalog_document(datasets, latest, base_url=base_url)
