"""Linkage pages: the projects a person is involved in, a project with its approvals and
runs (approve and run buttons for those who may), a run's match-rate report, and the run's
clerical review (the sample's pairs side by side, labelled by the key custodian's steward).

Every change is a ``linkage.actions`` call, as the API makes it; the decision point and the
audit log are theirs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.accounts.deps import CsrfChecked, SessionDep, SettingsDep, SignedInActor, StoreDep
from bitgoeul.errors import ValidationFailed
from bitgoeul.linkage import actions, queries
from bitgoeul.linkage.schemas import LinkageReviewLabel
from bitgoeul.messages import msg
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)


@router.get("/linkage", response_class=HTMLResponse)
def linkage_projects(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    projects = [
        queries.project_public(session, p)
        for p in queries.list_linkage_projects(session, actor=actor)
    ]
    return page(request, "linkage.html", projects=projects)


@router.get("/linkage/projects/{linkage_project_id}", response_class=HTMLResponse)
def linkage_project(
    request: Request, session: SessionDep, actor: SignedInActor, linkage_project_id: int
) -> Response:
    project = queries.linkage_project_for(
        session, actor=actor, linkage_project_id=linkage_project_id
    )
    shown = queries.project_public(session, project)
    publishers = queries.publishers(session, project)
    mine = [org for org_id, org in publishers.items() if actor.is_steward_of(org_id)]
    return page(
        request,
        "linkage_project.html",
        project=shown,
        runs=[queries.run_public(session, r) for r in queries.runs_of(session, project)],
        may_approve=bool(mine) and mine[0].slug in shown.awaiting,
        may_run=actor.is_operator or actor.is_steward_of(project.custodian_id),
    )


@router.post("/linkage/projects/{linkage_project_id}/approve")
def approve_linkage_project(
    session: SessionDep, actor: CsrfChecked, linkage_project_id: int
) -> Response:
    actions.approve_linkage_project(session, actor=actor, linkage_project_id=linkage_project_id)
    return redirect_to(f"/linkage/projects/{linkage_project_id}")


@router.post("/linkage/projects/{linkage_project_id}/runs")
def run_linkage_project(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    linkage_project_id: int,
) -> Response:
    run = actions.run_linkage(
        session, settings=settings, store=store, actor=actor, linkage_project_id=linkage_project_id
    )
    return redirect_to(f"/linkage/runs/{run.id}")


@router.get("/linkage/runs/{run_id}", response_class=HTMLResponse)
def linkage_run(
    request: Request, session: SessionDep, actor: SignedInActor, run_id: int
) -> Response:
    found = queries.run_for(session, actor=actor, run_id=run_id)
    project = queries.get_linkage_project(session, found.linkage_project_id)
    return page(
        request,
        "linkage_run.html",
        run=queries.run_public(session, found),
        # Only offers the link: opening the review is decided (``link``) and audited.
        may_review=found.status.value == "succeeded"
        and (actor.is_operator or actor.is_steward_of(project.custodian_id)),
    )


@router.get("/linkage/runs/{run_id}/review", response_class=HTMLResponse)
def clerical_review(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: SignedInActor,
    run_id: int,
) -> Response:
    review = actions.clerical_review(
        session, settings=settings, store=store, actor=actor, run_id=run_id
    )
    return page(request, "linkage_review.html", review=review, no_store=True)


@router.post("/linkage/runs/{run_id}/review")
async def label_review_pairs(
    request: Request, session: SessionDep, actor: CsrfChecked, run_id: int
) -> Response:
    form = await request.form()
    labels: list[LinkageReviewLabel] = []
    for name, value in form.multi_items():
        if not name.startswith("pair-") or value == "":
            continue
        if value not in ("same", "different") or not name[5:].isdigit():
            raise ValidationFailed(
                msg("{field}: choose 'same' or 'different'.", field=name),
                detail=[{"loc": ["body", name], "msg": "same or different", "type": "value_error"}],
            )
        labels.append(LinkageReviewLabel(pair=int(name[5:]), match=value == "same"))
    if labels:
        actions.label_review_pairs(session, actor=actor, run_id=run_id, labels=labels)
    return redirect_to(f"/linkage/runs/{run_id}/review")
