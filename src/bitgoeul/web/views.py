"""Server-rendered pages: the catalog, datasets, organizations, sign-in, uploads and tokens.

Pages are a peer of the REST API over the same services: they read through ``queries``,
change state only through ``actions``, and ask ``governance.decide`` for every door into data
(preview, download, publishing), exactly as the API does.  Everything works without
JavaScript; ``static/upload.js`` only adds upload progress and ingest polling.  Every string
a person reads goes through ``t(key)`` (see ``i18n.py``); Jinja autoescaping is on.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul import __version__
from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Dataset, IngestRun, IngestStatus, Sector
from bitgoeul.catalog.schemas import DatasetCreate, UpdateFrequency
from bitgoeul.deps import (
    SESSION_COOKIE,
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    StoreDep,
    client_address,
)
from bitgoeul.errors import (
    AccessDenied,
    Conflict,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
    validation_problems,
)
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.uploads import save_upload
from bitgoeul.web.charts import profile_chart
from bitgoeul.web.i18n import LANG_COOKIE, LANGUAGES, request_language, translator

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).parent
PAGE_SIZE = 20
PREVIEW_ROWS = 20
LOGIN_CSRF_COOKIE = "bitgoeul_login_csrf"
_ONE_YEAR = 365 * 24 * 3600
_FACETS = ("sector", "publisher", "access_level", "licence")

templates = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["profile_chart"] = profile_chart
# Asset URLs carry the release, so browsers fetch new CSS and JS after an upgrade.
templates.globals["asset_version"] = __version__

# The pages' own assets only: no inline script, no third-party origin.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# Rendering -------------------------------------------------------------------------------


def _localized(lang: str) -> Callable[[Any, str], str]:
    """``loc(obj, "title")``: the Korean field (``title_ko``) when the page is Korean and it
    is filled in, else the English one."""

    def loc(obj: Any, field: str) -> str:
        if lang == "ko":
            korean = getattr(obj, f"{field}_ko", "")
            if korean:
                return str(korean)
        value = getattr(obj, field, "")
        return str(value or getattr(obj, f"{field}_ko", "") or "")

    return loc


def page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    no_store: bool = False,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with what every page needs: the language, ``t``, the actor."""
    lang = request_language(request)
    actor: Actor = getattr(request.state, "actor", ANONYMOUS)
    csrf_token = getattr(request.state, "csrf_token", "") if actor.via == "session" else ""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    unread = 0
    if actor.user_id is not None:
        with request.app.state.sessionmaker() as session:
            unread = governance_queries.unread_notifications(session, user_id=actor.user_id)
    html = templates.get_template(template).render(
        request=request,
        lang=lang,
        languages=LANGUAGES,
        t=translator(lang),
        loc=_localized(lang),
        actor=actor,
        csrf_token=csrf_token,
        here=here,
        can_create_datasets=_may_create_datasets(actor),
        can_review=actor.role in (Role.steward, Role.operator),
        unread_notifications=unread,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in_actor(request: Request) -> None:
    """Resolve the session for an error raised before any dependency ran (an unknown path),
    so the page header still shows who is signed in."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if getattr(request.state, "actor", None) is not None or not cookie:
        return
    with request.app.state.sessionmaker() as session:
        found = account_queries.web_session_from_cookie(
            session, cookie, settings=request.app.state.settings
        )
    if found is not None:
        request.state.actor, request.state.csrf_token = found


def render_error(request: Request, status_code: int, message: str) -> Response:
    """The error page for 401/403/404/...; ``app.py`` sends every HTML error here."""
    _signed_in_actor(request)
    known = {401, 403, 404, 409, 413, 422, 429}
    return page(
        request,
        "error.html",
        status_code=status_code,
        status=status_code,
        message=message,
        title_key=f"error.title.{status_code}" if status_code in known else "error.title.other",
    )


def redirect_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _refuse(actor: Actor, reason: str) -> NoReturn:
    """Raise the error a refused decision means for this actor: sign in first, or 403."""
    if actor.is_anonymous:
        raise NotAuthenticated(reason)
    raise AccessDenied(reason)


# Language --------------------------------------------------------------------------------


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    if code not in LANGUAGES:
        raise NotFound(f"There is no '{code}' translation; choose one of {', '.join(LANGUAGES)}.")
    response = redirect_to(_safe_next(next))
    response.set_cookie(LANG_COOKIE, code, max_age=_ONE_YEAR, samesite="lax", httponly=True)
    return response


# Catalog ---------------------------------------------------------------------------------


def _known(value: str | None, allowed: set[str]) -> str | None:
    return value if value in allowed else None


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    q: str = "",
    sector: str | None = None,
    publisher: str | None = None,
    access_level: str | None = None,
    licence: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    chosen = {
        "q": q.strip()[:200],
        "sector": _known(sector, {s.value for s in Sector}),
        "publisher": publisher or None,
        "access_level": _known(access_level, {a.value for a in AccessLevel}),
        "licence": licence or None,
    }
    results = catalog_queries.search_datasets(
        session,
        q=chosen["q"] or "",
        sector=chosen["sector"],
        publisher=chosen["publisher"],
        access_level=chosen["access_level"],
        licence=chosen["licence"],
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
    )

    def link(**changes: Any) -> str:
        """This search with some parameters changed (None removes one); back to page 1."""
        params = {k: v for k, v in {**chosen, **changes}.items() if v}
        return "/?" + urlencode(params) if params else "/"

    return page(
        request,
        "home.html",
        results=results,
        organizations={o.slug: o for o in account_queries.list_organizations(session)},
        chosen=chosen,
        facets=_FACETS,
        link=link,
        page_number=page_number,
        pages=max(1, -(-results.total // PAGE_SIZE)),
    )


def _may_create_datasets(actor: Actor) -> bool:
    """Asked of the decision point about a dataset the actor's organization would publish."""
    if actor.is_anonymous:
        return False
    intended = Dataset(publisher_id=actor.organization_id)
    return decide(actor, DataAction.create_dataset, intended).allowed


@router.get("/datasets/new", response_class=HTMLResponse)
def new_dataset_form(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _dataset_form(request, session, actor, values={}, errors=[])


def _dataset_form(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> Response:
    if not _may_create_datasets(actor):
        raise AccessDenied(
            "Only the stewards of a publishing organization and operators may add datasets."
        )
    return page(
        request,
        "dataset_new.html",
        status_code=status_code,
        values=values,
        errors=errors,
        sectors=[s.value for s in Sector],
        access_levels=[a.value for a in AccessLevel],
        frequencies=[f.value for f in UpdateFrequency],
        organizations=account_queries.list_organizations(session),
    )


_DATASET_FIELDS = (
    "slug",
    "title",
    "title_ko",
    "description",
    "description_ko",
    "publisher",
    "sector",
    "keywords",
    "licence",
    "access_level",
    "temporal_start",
    "temporal_end",
    "spatial",
    "update_frequency",
    "contact_name",
    "contact_email",
)


@router.post("/datasets/new", response_class=HTMLResponse)
async def create_dataset(request: Request, session: SessionDep, actor: CsrfChecked) -> Response:
    if actor.is_anonymous:
        raise NotAuthenticated("Sign in as a steward to add a dataset.")
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in _DATASET_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    if "keywords" in data:
        data["keywords"] = [k.strip() for k in data["keywords"].split(",") if k.strip()]
    try:
        metadata = DatasetCreate.model_validate(data)
    except ValidationError as exc:
        errors = validation_problems(exc)
        return _dataset_form(request, session, actor, values=values, errors=errors, status_code=422)
    try:
        dataset = catalog_actions.create_dataset(session, actor=actor, data=metadata)
    except (ValidationFailed, Conflict) as exc:
        return _dataset_form(
            request, session, actor, values=values, errors=[exc.message], status_code=422
        )
    return redirect_to(f"/datasets/{dataset.slug}/upload")


@router.get("/datasets/{slug}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    actor: CurrentActor,
    slug: str,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    dataset = catalog_queries.get_dataset(session, slug)
    public = catalog_queries.dataset_public(session, actor=actor, slug=slug)
    shown = None
    preview = None
    row = None
    if public.versions:
        row = catalog_queries.get_version(session, slug, version)
        shown = catalog_queries.version_public(actor, dataset, row)
    preview_decision = decide(actor, DataAction.preview, dataset)
    download_decision = decide(actor, DataAction.download, dataset)
    publish_decision = decide(actor, DataAction.publish_version, dataset)
    if row is not None and preview_decision.allowed:
        # Through the action, so the preview is audited like the API's.
        preview = catalog_actions.preview_version(
            session, store=store, actor=actor, slug=slug, number=row.number, limit=PREVIEW_ROWS
        )
    return page(
        request,
        "dataset.html",
        dataset=public,
        version=shown,
        preview=preview,
        preview_decision=preview_decision,
        download_decision=download_decision,
        can_publish=publish_decision.allowed,
        frequencies=[f.value for f in UpdateFrequency],
        ingest_runs=(
            catalog_queries.list_ingest_runs(session, slug=slug, limit=5)
            if publish_decision.allowed
            else []
        ),
    )


# Organizations ---------------------------------------------------------------------------


@router.get("/organizations", response_class=HTMLResponse)
def organizations(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    counts = {
        facet.value: facet.count
        for facet in catalog_queries.search_datasets(session, limit=1).facets["publisher"]
    }
    return page(
        request,
        "organizations.html",
        organizations=account_queries.list_organizations(session),
        counts=counts,
    )


@router.get("/organizations/{slug}", response_class=HTMLResponse)
def organization_page(
    request: Request, session: SessionDep, actor: CurrentActor, slug: str
) -> Response:
    organization = account_queries.get_organization(session, slug)
    if organization is None:
        raise NotFound(f"There is no organization '{slug}'; see the list of organizations.")
    results = catalog_queries.search_datasets(
        session, publisher=slug, limit=catalog_queries.MAX_PAGE
    )
    return page(request, "organization.html", organization=organization, results=results)


# Signing in and out ----------------------------------------------------------------------


def _login_form(
    request: Request, *, next_url: str, username: str = "", error: str = "", status_code: int = 200
) -> Response:
    # Before sign-in there is no session to hold a CSRF token, so the login form uses a
    # double-submit cookie: a cross-site page can neither read the cookie nor set the field.
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status_code=status_code,
        next_url=next_url,
        username=username,
        error=error,
        login_csrf=token,
        no_store=True,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, actor: CurrentActor, next: str | None = None) -> Response:
    return _login_form(request, next_url=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    next_url = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise AccessDenied("This sign-in form has expired; reload the page and sign in again.")
    try:
        user = account_actions.authenticate(
            session,
            settings=settings,
            username=username,
            password=password,
            client=client_address(request),
        )
    except NotAuthenticated as exc:
        return _login_form(
            request, next_url=next_url, username=username, error=exc.message, status_code=401
        )
    except RateLimited as exc:
        refused = _login_form(
            request, next_url=next_url, username=username, error=exc.message, status_code=429
        )
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    cookie, _csrf = account_actions.start_web_session(session, settings=settings, user=user)
    response = redirect_to(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: CsrfChecked) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        account_actions.end_web_session(session, cookie=cookie)
    response = redirect_to("/")
    response.delete_cookie(SESSION_COOKIE)
    return response


# Uploads ---------------------------------------------------------------------------------


def _publishable(session: Session, actor: Actor, slug: str) -> Dataset:
    dataset = catalog_queries.get_dataset(session, slug)
    decision = decide(actor, DataAction.publish_version, dataset)
    if not decision.allowed:
        _refuse(actor, decision.reason)
    return dataset


def _upload_form(
    request: Request,
    session: Session,
    dataset: Dataset,
    *,
    values: dict[str, str],
    error: str = "",
    report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "upload.html",
        status_code=status_code,
        dataset=dataset,
        values=values,
        error=error,
        report=report,
        ingest_runs=catalog_queries.list_ingest_runs(session, slug=dataset.slug, limit=10),
    )


@router.get("/datasets/{slug}/upload", response_class=HTMLResponse)
def upload_form(request: Request, session: SessionDep, actor: CurrentActor, slug: str) -> Response:
    dataset = _publishable(session, actor, slug)
    return _upload_form(request, session, dataset, values={})


def _json_field(text: str, what: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"The {what} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from exc
    if not isinstance(value, dict):
        raise ValidationFailed(f"The {what} must be a JSON object.")
    return value


def _column_classes(text: str) -> dict[str, str] | None:
    """``{"col": "class"}`` as JSON, or one ``column = class`` per line."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        value = _json_field(text, "column classes")
        return {str(k): str(v) for k, v in (value or {}).items()}
    classes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        column, sep, name = line.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise ValidationFailed(
                f"Column classes, line {number}: write 'column = class', "
                "e.g. 'phone = direct_identifier'."
            )
        classes[column.strip()] = name.strip()
    return classes


def _save_upload(upload: UploadFile, folder: Path, *, limit: int) -> Path:
    return save_upload(
        upload,
        folder / "upload",
        limit=limit,
        too_large=f"The file is larger than this hub accepts ({limit} bytes); split it or ask "
        "an operator to raise BITGOEUL_MAX_UPLOAD_BYTES.",
    )


def _run_that_made(session: Session, dataset: Dataset, version_id: int) -> IngestRun | None:
    runs = catalog_queries.list_ingest_runs(session, slug=dataset.slug, limit=5)
    return next((run for run in runs if run.version_id == version_id), None)


@router.post("/datasets/{slug}/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    slug: str,
    file: Annotated[UploadFile, File()],
    schema_text: Annotated[str, Form(alias="schema")] = "",
    column_classes: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    dataset = _publishable(session, actor, slug)
    values = {"schema": schema_text, "column_classes": column_classes, "note": note}
    filename = Path(file.filename or "upload").name
    try:
        declared = _json_field(schema_text, "schema")
        classes = _column_classes(column_classes)
    except ValidationFailed as exc:
        return _upload_form(
            request, session, dataset, values=values, error=exc.message, status_code=422
        )
    work_root = settings.ensure_data_dir() / "work"
    work_root.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=work_root))
    try:
        source = _save_upload(file, folder, limit=settings.max_upload_bytes)
        version = catalog_actions.publish_version(
            session,
            settings=settings,
            store=store,
            actor=actor,
            slug=slug,
            source=source,
            filename=filename,
            declared_schema=declared,
            column_classes=classes,
            note=note,
        )
    except ValidationFailed as exc:
        report = exc.detail if isinstance(exc.detail, dict) and "errors" in exc.detail else None
        return _upload_form(
            request,
            session,
            dataset,
            values=values,
            error=exc.message,
            report=report,
            status_code=422,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    run = _run_that_made(session, dataset, version.id)
    if run is not None:
        return redirect_to(f"/ingest-runs/{run.id}")
    return redirect_to(f"/datasets/{slug}?version={version.number}")


@router.get("/ingest-runs/{run_id}", response_class=HTMLResponse)
def ingest_run_page(
    request: Request, session: SessionDep, actor: CurrentActor, run_id: int
) -> Response:
    run = catalog_queries.get_ingest_run(session, run_id)
    dataset = session.get(Dataset, run.dataset_id)
    if dataset is None:
        raise NotFound(f"There is no ingest run {run_id}.")
    if actor.is_anonymous:
        raise NotAuthenticated("Sign in to see the status of an upload.")
    if not decide(actor, DataAction.publish_version, dataset).allowed:
        # The API's answer too: error reports may quote the uploaded data.
        raise NotFound(f"There is no ingest run {run_id}.")
    return page(
        request,
        "ingest_run.html",
        run=catalog_queries.ingest_run_public(session, run),
        dataset=dataset,
        finished=run.status in (IngestStatus.succeeded, IngestStatus.failed),
    )


# API tokens ------------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    created: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "tokens.html",
        status_code=status_code,
        tokens=account_queries.list_api_tokens(session, actor=actor),
        created=created,
        error=error,
        no_store=True,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _tokens_page(request, session, actor)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    name: Annotated[str, Form(max_length=200)] = "",
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    days = int(expires_in_days) if expires_in_days.strip().isdigit() else None
    try:
        _token, plaintext = account_actions.create_api_token(
            session, actor=actor, name=name, expires_in_days=days
        )
    except ValidationFailed as exc:
        return _tokens_page(request, session, actor, error=exc.message, status_code=422)
    # Shown in this response only; the page is not cached and a reload shows no secret.
    return _tokens_page(request, session, actor, created=plaintext)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, actor: CsrfChecked, token_id: int) -> Response:
    account_actions.revoke_api_token(session, actor=actor, token_id=token_id)
    return redirect_to("/tokens")
