"""Server-rendered pages: the catalog, datasets, organizations, sign-in, uploads and tokens.

Pages are a peer of the REST API over the same services: they read through ``queries``,
change state only through ``actions``, and ask ``governance.decide`` for every door into data
(preview, download, publishing), exactly as the API does.  Everything works without
JavaScript; ``static/upload.js`` only adds upload progress and ingest polling.  Every string
a person reads goes through ``t(key)`` (see ``i18n.py``); Jinja autoescaping is on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from bitgoeul import __version__
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.deps import (
    SESSION_COOKIE,
    CurrentActor,
    SessionDep,
)
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetKind
from bitgoeul.errors import (
    AccessDenied,
    NotAuthenticated,
    NotFound,
)
from bitgoeul.governance import notifications
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.messages import Message, msg, reread, translate_stored, translate_tree
from bitgoeul.web.charts import profile_chart
from bitgoeul.web.i18n import LANG_COOKIE, LANGUAGES, request_language, translator

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).parent
PAGE_SIZE = 20


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


@pass_context
def _stored(context: Any, text: Any) -> str:
    """``{{ text | stored }}``: a message kept as English text, in the page's language."""
    return translate_stored(text, context["lang"])


templates.filters["stored"] = _stored

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
            unread = notifications.unread_count(session, user_id=actor.user_id)
    # What the server said (errors, reports) is in the page's language too.
    context = {name: translate_tree(value, lang) for name, value in context.items()}
    html = templates.get_template(template).render(
        request=request,
        lang=lang,
        languages=LANGUAGES,
        t=translator(lang),
        loc=_localized(lang),
        actor=actor,
        csrf_token=csrf_token,
        here=here,
        can_create_datasets=may_create_datasets(actor),
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
        # A message raised as plain text is still said in Korean when a template made it.
        message=message if isinstance(message, Message) else reread(message),
        title_key=f"error.title.{status_code}" if status_code in known else "error.title.other",
    )


def redirect_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def refuse(actor: Actor, reason: str) -> NoReturn:
    """Raise the error a refused decision means for this actor: sign in first, or 403."""
    if actor.is_anonymous:
        raise NotAuthenticated(reason)
    raise AccessDenied(reason)


# Language --------------------------------------------------------------------------------


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    if code not in LANGUAGES:
        raise NotFound(
            msg(
                "There is no '{code}' translation; choose one of {languages}.",
                code=code,
                languages=", ".join(LANGUAGES),
            )
        )
    response = redirect_to(safe_next(next))
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
    kind: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    chosen = {
        # Hidden test sets are listed only when asked for (``?kind=test_set``).
        "kind": _known(kind, {DatasetKind.test_set.value}),
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
        kind=chosen["kind"] or DatasetKind.dataset.value,
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


def may_create_datasets(actor: Actor) -> bool:
    """Asked of the decision point about a dataset the actor's organization would publish."""
    if actor.is_anonymous:
        return False
    intended = Dataset(publisher_id=actor.organization_id)
    return decide(actor, DataAction.create_dataset, intended).allowed
