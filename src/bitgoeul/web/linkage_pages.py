"""Linkage pages: the projects a person is involved in, a project with its approvals and
runs (approve and run buttons for those who may), and a run's match-rate report.

Every change is a ``linkage.actions`` call, as the API makes it; the decision point and the
audit log are theirs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bitgoeul.deps import CsrfChecked, SessionDep, SettingsDep, SignedInActor, StoreDep
from bitgoeul.linkage import actions, queries
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
    run = queries.run_public(session, queries.run_for(session, actor=actor, run_id=run_id))
    return page(request, "linkage_run.html", run=run)
