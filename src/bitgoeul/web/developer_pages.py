"""The developers' page: how to use the hub from programs (REST API, SDK, CLI, feeds).

Pages never link into ``/api/``: the footer links here, and this page names the API's
addresses as text.  The interactive OpenAPI documentation is served at
``/developers/api-docs`` (``app.py`` sets FastAPI's ``docs_url``); the old ``/api/docs``
answers with a permanent redirect there.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bitgoeul.accounts.deps import CurrentActor
from bitgoeul.web.views import page

router = APIRouter(include_in_schema=False)

API_DOCS_PATH = "/developers/api-docs"


@router.get("/developers", response_class=HTMLResponse)
def developers(request: Request, actor: CurrentActor) -> Response:
    base = str(request.base_url).rstrip("/")
    return page(request, "developers.html", base=base, api_docs=API_DOCS_PATH)


@router.get("/api/docs")
def old_api_docs() -> Response:
    """Where the interactive documentation used to be; bookmarks keep working."""
    return RedirectResponse(API_DOCS_PATH, status_code=308)
