"""Writes for linkage: proposing a linkage project, each publisher approving it, running it.

``run_linkage`` is the door: it asks the decision point (``link``) for every source through
``governance.doors.Door`` (one audit entry per source under its publisher), reads only the
identifying columns and approved attributes of each pinned version, links them by the
project's method under the key custodian's secret, publishes the **linked dataset** (serials,
a pseudonymous person key per project and the approved attributes) as a new dataset of the
custodian whose policy is the strictest of its sources' and at least ``restricted``, deletes
every intermediate (keys, encodings, block keys, candidate pairs) and audits the deletion, and
keeps a match-rate report in which counts below the strictest ``min_group_size`` are
suppressed. Every step is audited under every publisher and the custodian.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog import actions as catalog
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.engine import locked as engine
from bitgoeul.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Passage, Request, failure_reason
from bitgoeul.governance.models import Notification, Project
from bitgoeul.linkage import clk, custodian, keys, methods, probabilistic, queries, review
from bitgoeul.linkage.models import (
    LinkageApproval,
    LinkageAudit,
    LinkageMethod,
    LinkageProject,
    LinkageReviewPair,
    LinkageRun,
    RunStatus,
)
from bitgoeul.linkage.schemas import (
    LinkageProjectCreate,
    LinkageReviewLabel,
    LinkageReviewPairPublic,
    LinkageReviewPublic,
)
from bitgoeul.messages import msg
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore

_LEVEL_ORDER = [
    AccessLevel.open,
    AccessLevel.registered,
    AccessLevel.restricted,
    AccessLevel.secure,
]
READ_LIMITS = engine.Limits(timeout_s=3600)


def _audit(
    session: Session,
    *,
    actor: Actor,
    action: LinkageAudit,
    resource_id: int | str,
    organizations: set[int],
    resource_type: str = "linkage_project",
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """One entry under each organization, so every publisher's stewards see it."""
    for organization_id in sorted(organizations):
        record_event(
            session,
            action=action,
            outcome=outcome,
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type=resource_type,
            resource_id=resource_id,
            organization_id=organization_id,
            detail=detail,
        )


def _stewards_of(session: Session, organization_ids: set[int]) -> set[int]:
    return set(
        session.scalars(
            select(User.id).where(
                User.organization_id.in_(organization_ids),
                User.role == Role.steward,
                User.is_active.is_(True),
            )
        )
    )


def _notify(session: Session, user_ids: set[int], *, kind: str, text: str, link: str) -> None:
    for user_id in sorted(user_ids):
        session.add(Notification(user_id=user_id, kind=kind, text=text, link=link))


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        msg("{field}: {problem}", field=field, problem=message),
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def _columns_of(version: DatasetVersion) -> set[str]:
    return {f["name"] for f in views.schema_fields(version.table_schema)}


def create_linkage_project(
    session: Session, *, actor: Actor, data: LinkageProjectCreate
) -> LinkageProject:
    """Anyone signed in proposes a linkage; the stewards of every source's publisher are asked
    to approve it."""
    queries.require_signed_in(actor)
    custodian_org = session.scalar(select(Organization).where(Organization.slug == data.custodian))
    if custodian_org is None:
        raise _invalid("custodian", msg("There is no organization '{slug}'.", slug=data.custodian))
    if data.project_id is not None and session.get(Project, data.project_id) is None:
        raise _invalid("project_id", msg("There is no project {id}.", id=data.project_id))
    seen: set[str] = set()
    sources: list[dict[str, Any]] = []
    for index, source in enumerate(data.sources):
        where = f"sources[{index}]"
        if source.dataset in seen:
            raise _invalid(where, msg("Dataset '{slug}' is named twice.", slug=source.dataset))
        seen.add(source.dataset)
        try:
            dataset = get_dataset(session, source.dataset)
            version = version_of(session, dataset, source.version)
        except NotFound as error:
            raise _invalid(where, error.message) from error
        if dataset.holdout:
            raise _invalid(where, msg("Dataset '{slug}' is a hidden test set.", slug=dataset.slug))
        known = _columns_of(version)
        missing = [c for c in [*source.fields.values(), *source.attributes] if c not in known]
        if missing:
            raise _invalid(
                where,
                msg(
                    "Version {number} of '{slug}' has no column {columns}.",
                    number=version.number,
                    slug=dataset.slug,
                    columns=", ".join(map(repr, missing)),
                ),
            )
        sources.append(
            {
                "dataset": dataset.slug,
                "version": version.number,
                "fields": dict(source.fields),
                "attributes": list(source.attributes),
            }
        )
    definitions: list[Any] = []
    if data.method == LinkageMethod.exact:
        chosen = list(keys.DEFAULT_CASCADE)
        if data.key_definitions:
            try:
                chosen = [keys.KeyDefinition(d.name, tuple(d.fields)) for d in data.key_definitions]
            except ValueError as error:
                raise _invalid("key_definitions", str(error)) from error
        for definition in chosen:
            needed = {keys.FIELDS[f][0] for f in definition.fields}
            for index, chosen_source in enumerate(sources):
                lacking = sorted(needed - set(chosen_source["fields"]))
                if lacking:
                    raise _invalid(
                        f"sources[{index}]",
                        msg(
                            "Key definition '{name}' needs {fields}; map them to columns.",
                            name=definition.name,
                            fields=", ".join(lacking),
                        ),
                    )
            definitions.append([definition.name, list(definition.fields)])
    else:
        for index, chosen_source in enumerate(sources):
            if not {"name", "birth_date"} <= set(chosen_source["fields"]):
                raise _invalid(
                    f"sources[{index}]",
                    msg(
                        "Bloom-filter and probabilistic linkage need at least 'name' and "
                        "'birth_date' mapped."
                    ),
                )
    threshold = data.threshold
    if threshold is None:
        threshold = (
            probabilistic.DEFAULT_THRESHOLD
            if data.method == LinkageMethod.probabilistic
            else clk.DEFAULT_THRESHOLD
        )
    project = LinkageProject(
        title=data.title,
        purpose=data.purpose,
        method=data.method,
        custodian_id=custodian_org.id,
        project_id=data.project_id,
        sources=sources,
        key_definitions=definitions,
        threshold=threshold,
        created_by_id=actor.user_id,
    )
    session.add(project)
    session.flush()
    orgs = queries.publishers(session, project)
    _audit(
        session,
        actor=actor,
        action=LinkageAudit.linkage_project_created,
        resource_id=project.id,
        organizations={*orgs, custodian_org.id},
        detail={"title": project.title, "method": project.method.value, "sources": sources},
    )
    _notify(
        session,
        _stewards_of(session, set(orgs)),
        kind="linkage.approval_needed",
        text=msg(
            "Linkage project {id} ('{title}') links your data; approve it if you agree.",
            id=project.id,
            title=project.title,
        ),
        link=f"/linkage/projects/{project.id}",
    )
    session.commit()
    return project


def approve_linkage_project(
    session: Session, *, actor: Actor, linkage_project_id: int, note: str = ""
) -> LinkageApproval:
    """A steward approves for their organization, which publishes one of the sources."""
    queries.require_signed_in(actor)
    project = queries.linkage_project_for(
        session, actor=actor, linkage_project_id=linkage_project_id
    )
    orgs = queries.publishers(session, project)
    mine = next((org_id for org_id in orgs if actor.is_steward_of(org_id)), None)
    if mine is None:
        reason = msg(
            "Only a steward of an organization publishing one of its sources approves linkage "
            "project {id}.",
            id=project.id,
        )
        session.rollback()
        _audit(
            session,
            actor=actor,
            action=LinkageAudit.linkage_project_approve,
            resource_id=project.id,
            organizations={project.custodian_id},
            outcome="denied",
            detail={"reason": reason},
        )
        session.commit()
        raise AccessDenied(reason)
    if mine in queries.approved_by(project):
        raise Conflict(
            msg("Your organization has approved linkage project {id} already.", id=project.id)
        )
    approval = LinkageApproval(
        linkage_project_id=project.id,
        organization_id=mine,
        approved_by_id=actor.user_id,
        note=note,
    )
    session.add(approval)
    session.flush()
    _audit(
        session,
        actor=actor,
        action=LinkageAudit.linkage_project_approved,
        resource_id=project.id,
        organizations={mine, project.custodian_id},
        detail={"organization": orgs[mine].slug, "note": note},
    )
    waiting = set(orgs) - queries.approved_by(project) - {mine}
    if not waiting:
        _notify(
            session,
            _stewards_of(session, {project.custodian_id})
            | ({project.created_by_id} if project.created_by_id else set()),
            kind="linkage.approved",
            text=msg(
                "Every publisher approved linkage project {id}; the key custodian may run it.",
                id=project.id,
            ),
            link=f"/linkage/projects/{project.id}",
        )
    session.commit()
    session.refresh(project)
    return approval


def _read_source(
    door: Door,
    store: ObjectStore,
    passage: Passage,
    source: dict[str, Any],
    *,
    secret: str,
) -> tuple[list[dict[str, object]], pa.Table]:
    """The identifying fields of every row (under the standard field names) and the approved
    attributes, read through the door."""
    columns = list(dict.fromkeys([*source["fields"].values(), *source["attributes"]]))
    view, _hidden = door.view(store, passage, secret=secret, keep=set(columns))
    with engine.read_view(view, limits=READ_LIMITS) as reader:
        table = reader.read_all()
    identifying = {
        field: table.column(column).to_pylist() for field, column in source["fields"].items()
    }
    rows = table.num_rows
    records: list[dict[str, object]] = [
        {field: values[row] for field, values in identifying.items()} for row in range(rows)
    ]
    return records, table.select(source["attributes"])


def _strictest(datasets: list[Dataset]) -> dict[str, Any]:
    level = max(
        [AccessLevel.restricted, *(d.access_level for d in datasets)], key=_LEVEL_ORDER.index
    )
    return {
        "access_level": level,
        "min_group_size": max(d.min_group_size for d in datasets),
        "dominance_n": max(d.dominance_n for d in datasets),
        "dominance_k": min(d.dominance_k for d in datasets),
    }


def _suppress(count: int, k: int) -> int | None:
    """Small counts are not shown: 1..k-1 becomes None (zero is shown: it discloses no one)."""
    return None if 0 < count < k else count


def _report(
    project: LinkageProject,
    datasets: list[Dataset],
    sizes: list[int],
    links: list[methods.SourceLink],
    persons: int,
    k: int,
) -> dict[str, Any]:
    sources = [
        {
            "dataset": datasets[0].slug,
            "records": _suppress(sizes[0], k),
            "linked": _suppress(persons, k),
            "rate": round(persons / sizes[0], 4) if sizes[0] and persons >= k else None,
        }
    ]
    for dataset, size, link in zip(datasets[1:], sizes[1:], links, strict=True):
        linked = len(link.to_anchor)
        entry: dict[str, Any] = {
            "dataset": dataset.slug,
            "records": _suppress(size, k),
            "linked": _suppress(linked, k),
            "rate": round(linked / size, 4) if size and linked >= k else None,
        }
        if project.method == LinkageMethod.exact:
            entry["by_key"] = {name: _suppress(n, k) for name, n in link.by_definition.items()}
        else:
            entry["by_score"] = {
                band: _suppress(n, k) for band, n in _score_bands(project, link.scores).items()
            }
        if project.method == LinkageMethod.probabilistic:
            entry["comparisons"] = link.comparisons
            entry["estimated"] = link.estimated
        sources.append(entry)
    return {
        "method": project.method.value,
        "persons": _suppress(persons, k),
        "sources": sources,
        "suppressed_below": k,
        "quality": _quality(project, links),
    }


def _score_bands(project: LinkageProject, scores: list[float]) -> dict[str, int]:
    """Links counted by score: Dice bands for Bloom filters, probability bands otherwise."""
    low = f"{project.threshold:.2f}"
    edges = [0.99, 0.999] if project.method == LinkageMethod.probabilistic else [0.8, 0.9]
    edges = [e for e in edges if e > project.threshold]
    starts, ends = [low, *map(str, edges)], [*map(str, edges), "1.0"]
    names = [f"{a}-{b}" for a, b in zip(starts, ends, strict=True)]
    bands = dict.fromkeys(reversed(names), 0)
    for score in scores:
        place = sum(score >= e for e in edges)
        bands[names[place]] += 1
    return bands


def _quality(project: LinkageProject, links: list[methods.SourceLink]) -> dict[str, Any]:
    """The probabilistic model's own estimate (None for the other methods); the headline
    estimate is made from it and the clerical sample in ``_with_clerical``."""
    if project.method == LinkageMethod.probabilistic and links:
        # For the least certain of the linked sources.
        return {
            "model": {
                "precision": min(link.estimated.get("precision", 0.0) for link in links),
                "recall": min(link.estimated.get("recall", 0.0) for link in links),
            }
        }
    return {"model": None}


def _clerical_estimates(
    strata: list[dict[str, Any]], pairs: list[LinkageReviewPair]
) -> dict[int, dict[str, Any]]:
    """Per linked source, precision and recall estimated from the reviewed pairs."""
    found: dict[int, dict[str, Any]] = {}
    for source in sorted({s["source"] for s in strata}):
        labelled = []
        for stratum in (s for s in strata if s["source"] == source):
            mine = [p for p in pairs if p.source == source and p.stratum == stratum["name"]]
            done = [p for p in mine if p.match is not None]
            labelled.append(
                review.Labelled(
                    kind=stratum["kind"],
                    population=stratum["population"],
                    reviewed=len(done),
                    matches=sum(1 for p in done if p.match),
                )
            )
        estimate = review.estimate(labelled)
        estimate["sample"] = sum(1 for p in pairs if p.source == source)
        found[source] = estimate
    return found


def _with_clerical(
    project: LinkageProject, run: LinkageRun, pairs: list[LinkageReviewPair]
) -> dict[str, Any]:
    """The run's report with the clerical sample's estimates per source, and the headline
    estimate: the clerical sample's (the least precise source) once every stratum of every
    source has a label; until then the probabilistic model's own, else none."""
    report = dict(run.report)
    estimates = _clerical_estimates(run.review_strata, pairs)
    sources = [dict(s) for s in report.get("sources", [])]
    for index, estimate in estimates.items():
        if index < len(sources):
            sources[index]["clerical"] = estimate
    report["sources"] = sources
    model = (report.get("quality") or {}).get("model")
    reviewed = sum(e["reviewed"] for e in estimates.values())
    sample = sum(e["sample"] for e in estimates.values())
    quality: dict[str, Any] = {"model": model, "reviewed": reviewed, "sample": sample}
    done = [e for e in estimates.values() if e["complete"]]
    if estimates and len(done) == len(estimates):
        worst = min(done, key=lambda e: 1.0 if e["precision"] is None else e["precision"])
        note = msg(
            "estimated from a clerical sample of {n} reviewed pairs drawn near the threshold "
            "(95 % intervals); recall counts the matches among compared pairs only",
            n=reviewed,
        )
        if worst["recall"] is None:
            note = msg(
                "{note}; exact keys have no near misses to sample, so recall is not estimated",
                note=note,
            )
        quality |= {
            "precision": worst["precision"],
            "precision_interval": worst.get("precision_interval"),
            "recall": worst["recall"],
            "recall_interval": worst.get("recall_interval"),
            "source": "clerical",
            "note": str(note),
        }
    elif model is not None:
        quality |= {
            "precision": model["precision"],
            "recall": model["recall"],
            "source": "model",
            "note": "estimated by the Fellegi–Sunter model (mean match probability of the "
            "links; their share of the matches it expects) until the clerical sample is "
            "reviewed",
        }
    else:
        quality |= {
            "precision": None,
            "recall": None,
            "source": None,
            "note": "not estimated until the clerical sample is reviewed",
        }
    report["quality"] = quality
    return report


def run_linkage(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    linkage_project_id: int,
) -> LinkageRun:
    """Run an approved linkage project and publish its linked dataset (see the module doc)."""
    queries.require_signed_in(actor)
    project = queries.linkage_project_for(
        session, actor=actor, linkage_project_id=linkage_project_id
    )
    pairs = queries.source_versions(session, project)
    datasets = [d for d, _ in pairs]
    orgs = {*queries.publishers(session, project), project.custodian_id}
    run = LinkageRun(
        linkage_project_id=project.id, status=RunStatus.running, started_by_id=actor.user_id
    )
    session.add(run)
    session.commit()
    run_id = run.id

    def failed(session: Session, error: BaseException, _decisions: list[dict[str, Any]]) -> None:
        stopped = session.get(LinkageRun, run_id)
        if stopped is not None:
            stopped.status = RunStatus.failed
            stopped.error = failure_reason(error)
            stopped.finished_at = datetime.now(UTC)
        _audit(
            session,
            actor=actor,
            action=LinkageAudit.linkage_run_failed,
            resource_type="linkage_run",
            resource_id=run_id,
            organizations=orgs,
            outcome="refused" if isinstance(error, AccessDenied) else "failed",
            detail={"linkage_project": project.id, "reason": failure_reason(error)},
        )

    workdir = Path(tempfile.mkdtemp(prefix=f"linkage-{run_id}-", dir=settings.ensure_data_dir()))
    door = Door(
        session,
        actor=actor,
        event=LinkageAudit.dataset_linkage_decision,
        detail={"linkage_project": project.id, "linkage_run": run_id},
        on_failure=failed,
    )
    try:
        with door:
            passages = door.admit(
                [
                    Request(
                        DataAction.link,
                        dataset,
                        version,
                        queries.linkage_context(project, dataset, version, index),
                    )
                    for index, (dataset, version) in enumerate(pairs)
                ]
            )
            read = [
                _read_source(door, store, passage, source, secret=settings.secret())
                for passage, source in zip(passages, project.sources, strict=True)
            ]
            custodian_org = session.get(Organization, project.custodian_id)
            assert custodian_org is not None  # noqa: S101 (a foreign key)
            secret = custodian.custodian_secret(settings, custodian_org.slug)
            scope = f"linkage:{project.id}"
            records = [r for r, _ in read]
            if project.method == LinkageMethod.exact:
                cascade = [keys.KeyDefinition(n, tuple(f)) for n, f in project.key_definitions]
                links = methods.link_exact(secret, scope, records, cascade, workdir)
            elif project.method == LinkageMethod.bloom:
                links = methods.link_bloom(secret, scope, records, project.threshold, workdir)
            else:
                present = set.intersection(*(set(s["fields"]) for s in project.sources))
                links = methods.link_probabilistic(
                    records, present, project.threshold, workdir, scope=scope
                )
            anchors = sorted(set.intersection(*(set(link.to_anchor) for link in links)))
            linked = _linked_table(project, datasets, read, links, anchors, secret, scope)
            target = workdir / "linked.parquet"
            pq.write_table(linked, target)
            policy = _strictest(datasets)
            dataset = _publish(
                session,
                settings=settings,
                store=store,
                actor=actor,
                project=project,
                run_id=run_id,
                custodian_org=custodian_org,
                anchor=datasets[0],
                policy=policy,
                source_file=target,
                classes=_linked_classes(project, pairs),
            )
            report = _report(
                project, datasets, [len(r) for r in records], links, len(anchors),
                policy["min_group_size"],
            )  # fmt: skip
            done = session.get(LinkageRun, run_id)
            assert done is not None  # noqa: S101 (committed above)
            done.status = RunStatus.succeeded
            done.dataset_id = dataset.id
            done.review_strata = _keep_sample(session, run_id, links)
            done.report = report
            session.flush()
            sample = queries.review_pairs(session, run_id)
            report = done.report = _with_clerical(project, done, sample)
            done.finished_at = datetime.now(UTC)
            _audit(
                session,
                actor=actor,
                action=LinkageAudit.linkage_run_finished,
                resource_type="linkage_run",
                resource_id=run_id,
                organizations=orgs,
                detail={"linkage_project": project.id, "dataset": dataset.slug, "report": report},
            )
            _notify(
                session,
                _stewards_of(session, {project.custodian_id})
                | ({project.created_by_id} if project.created_by_id else set()),
                kind="linkage.run_finished",
                text=msg(
                    "Linkage run {id} finished: review its match-rate report before granting "
                    "access to '{slug}'.",
                    id=run_id,
                    slug=dataset.slug,
                ),
                link=f"/linkage/runs/{run_id}",
            )
            session.commit()
    finally:
        _delete_intermediates(session, actor=actor, run_id=run_id, workdir=workdir, orgs=orgs)
    finished = session.get(LinkageRun, run_id)
    assert finished is not None  # noqa: S101
    return finished


def _keep_sample(session: Session, run_id: int, links: list[methods.SourceLink]) -> list[Any]:
    """Keep the clerical review sample (rows and scores only) and return its strata."""
    strata: list[dict[str, Any]] = []
    for source, link in enumerate(links, start=1):
        for stratum in link.sample.strata:
            strata.append(
                {
                    "source": source,
                    "name": stratum.name,
                    "kind": stratum.kind,
                    "population": stratum.population,
                }
            )
        for pair in link.sample.pairs:
            session.add(
                LinkageReviewPair(
                    run_id=run_id,
                    source=source,
                    stratum=pair.stratum,
                    left_row=pair.left,
                    right_row=pair.right,
                    score=pair.score,
                )
            )
    return strata


def _delete_intermediates(
    session: Session, *, actor: Actor, run_id: int, workdir: Path, orgs: set[int]
) -> None:
    """Delete the run's keys, encodings, block keys and candidate pairs, and record it."""
    held = sorted(p for p in workdir.iterdir() if p.is_file()) if workdir.exists() else []
    files = [{"name": p.name, "bytes": p.stat().st_size} for p in held]
    shutil.rmtree(workdir, ignore_errors=True)
    _audit(
        session,
        actor=actor,
        action=LinkageAudit.linkage_intermediates_deleted,
        resource_type="linkage_run",
        resource_id=run_id,
        organizations=orgs,
        outcome="ok" if not workdir.exists() else "failed",
        detail={"files": files, "bytes": sum(f["bytes"] for f in files)},
    )
    session.commit()


def _alias(slug: str) -> str:
    return slug.replace("-", "_")


def _linked_table(
    project: LinkageProject,
    datasets: list[Dataset],
    read: list[tuple[list[dict[str, object]], pa.Table]],
    links: list[methods.SourceLink],
    anchors: list[int],
    secret: bytes,
    scope: str,
) -> pa.Table:
    """One row per person found in every source: person key, each source's serial (its row
    number in the pinned version, from 1) and the approved attributes."""
    columns: dict[str, pa.Array | list[Any]] = {
        "person_key": [methods.person_key(secret, scope, a + 1) for a in anchors]
    }
    rows_per_source = [anchors, *([link.to_anchor[a] for a in anchors] for link in links)]
    for dataset, (_records, attributes), rows in zip(datasets, read, rows_per_source, strict=True):
        alias = _alias(dataset.slug)
        columns[f"{alias}_serial"] = [r + 1 for r in rows]
        taken = attributes.take(pa.array(rows, type=pa.int64()))
        for name in attributes.column_names:
            columns[f"{alias}_{name}"] = taken.column(name)
    return pa.table(columns)


def _linked_classes(
    project: LinkageProject, pairs: list[tuple[Dataset, DatasetVersion]]
) -> dict[str, str]:
    classes = {"person_key": "direct_identifier"}
    for (dataset, version), source in zip(pairs, project.sources, strict=True):
        alias = _alias(dataset.slug)
        classes[f"{alias}_serial"] = "direct_identifier"
        known = views.column_classes(views.schema_fields(version.table_schema))
        for name in source["attributes"]:
            classes[f"{alias}_{name}"] = known.get(name, "other")
    return classes


def _publish(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    project: LinkageProject,
    run_id: int,
    custodian_org: Organization,
    anchor: Dataset,
    policy: dict[str, Any],
    source_file: Path,
    classes: dict[str, str],
) -> Dataset:
    slug = f"linked-{project.id}-run-{run_id}"
    dataset = catalog.create_dataset(
        session,
        actor=actor,
        data=DatasetCreate(
            slug=slug,
            title=f"Linked: {project.title} (run {run_id})",
            title_ko=f"결합: {project.title} (실행 {run_id})",
            description=(
                f"Linked by linkage project {project.id} ({project.method.value}) from "
                + ", ".join(s["dataset"] + " v" + str(s["version"]) for s in project.sources)
                + ". Serials and a pseudonymous person key per project, with the approved "
                "attributes."
            ),
            publisher=custodian_org.slug,
            sector=anchor.sector,
            keywords=["linkage"],
            **policy,
        ),
    )
    catalog.publish_version(
        session,
        settings=settings,
        store=store,
        actor=actor,
        slug=dataset.slug,
        source=source_file,
        filename="linked.parquet",
        column_classes=classes,
        note=f"linkage run {run_id}",
    )
    return dataset


def _review_door(
    session: Session, *, actor: Actor, project: LinkageProject, run: LinkageRun
) -> tuple[Door, list[Request]]:
    """Reviewing a run's sample is reading its sources' identifying fields: the same decision
    as the run (``link``: the key custodian's steward or an operator, in an approved project),
    audited under every publisher."""
    if run.status != RunStatus.succeeded:
        raise Conflict(
            msg("Linkage run {id} did not succeed: it has no sample to review.", id=run.id)
        )
    pairs = queries.source_versions(session, project)
    door = Door(
        session,
        actor=actor,
        event=LinkageAudit.dataset_linkage_decision,
        detail={"linkage_project": project.id, "linkage_run": run.id, "clerical_review": True},
    )
    requests = [
        Request(
            DataAction.link,
            dataset,
            version,
            queries.linkage_context(project, dataset, version, index),
        )
        for index, (dataset, version) in enumerate(pairs)
    ]
    return door, requests


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def clerical_review(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, run_id: int
) -> LinkageReviewPublic:
    """The run's clerical review sample with both records' identifying fields, as their sources
    hold them, read through the door, for the reviewer to label."""
    queries.require_signed_in(actor)
    run = queries.run_for(session, actor=actor, run_id=run_id)
    project = queries.get_linkage_project(session, run.linkage_project_id)
    door, requests = _review_door(session, actor=actor, project=project, run=run)
    with door:
        passages = door.admit(requests)
        sample = queries.review_pairs(session, run.id)
        needed = {0} | {p.source for p in sample}
        records = {
            index: _read_source(
                door, store, passages[index], project.sources[index], secret=settings.secret()
            )[0]
            for index in sorted(needed)
        }
        shown = [
            LinkageReviewPairPublic(
                id=pair.id,
                dataset=project.sources[pair.source]["dataset"],
                stratum=pair.stratum,
                score=pair.score,
                match=pair.match,
                anchor={k: _shown(v) for k, v in records[0][pair.left_row].items()},
                record={k: _shown(v) for k, v in records[pair.source][pair.right_row].items()},
            )
            for pair in sample
        ]
        session.commit()
    return LinkageReviewPublic(
        run_id=run.id,
        anchor=project.sources[0]["dataset"],
        pairs=shown,
        quality=run.report.get("quality", {}),
    )


def label_review_pairs(
    session: Session, *, actor: Actor, run_id: int, labels: list[LinkageReviewLabel]
) -> LinkageRun:
    """The reviewer says, pair by pair, whether the two records are the same person; the
    run's report is estimated again from every label given so far (a label may be changed)."""
    queries.require_signed_in(actor)
    run = queries.run_for(session, actor=actor, run_id=run_id)
    project = queries.get_linkage_project(session, run.linkage_project_id)
    door, requests = _review_door(session, actor=actor, project=project, run=run)
    with door:
        door.admit(requests)
        sample = {pair.id: pair for pair in queries.review_pairs(session, run.id)}
        unknown = sorted({label.pair for label in labels} - set(sample))
        if unknown:
            raise _invalid(
                "labels",
                msg(
                    "Run {run} has no review pair {pairs}; labels were not saved.",
                    run=run.id,
                    pairs=", ".join(map(str, unknown)),
                ),
            )
        now = datetime.now(UTC)
        for label in labels:
            pair = sample[label.pair]
            pair.match = label.match
            pair.reviewed_by_id = actor.user_id
            pair.reviewed_at = now
        run.report = _with_clerical(project, run, list(sample.values()))
        _audit(
            session,
            actor=actor,
            action=LinkageAudit.linkage_review_labelled,
            resource_type="linkage_run",
            resource_id=run.id,
            organizations={*queries.publishers(session, project), project.custodian_id},
            detail={
                "labelled": len(labels),
                "said_match": sum(1 for label in labels if label.match),
                "quality": run.report["quality"],
            },
        )
        session.commit()
    return run
