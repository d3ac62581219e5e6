"""The application factory: one FastAPI app serving the REST API and the web pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from bitgoeul import __version__
from bitgoeul.compute.executors import Executor, make_executor
from bitgoeul.compute.runner import JobRunner
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade
from bitgoeul.errors import BitgoeulError, RateLimited
from bitgoeul.messages import joined, msg, pydantic_problem, translate_tree
from bitgoeul.programmes.actions import academy_grader
from bitgoeul.storage import make_store
from bitgoeul.storage.adopt import adopt_data_dir_files
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed.access import testbed_context
from bitgoeul.testbed.actions import testbed_scorer
from bitgoeul.tower.metrics import HubMetrics

WEB_DIR = Path(__file__).parent / "web"


def make_job_runner(
    settings: Settings, sessions: sessionmaker[Session], store: ObjectStore, executor: Executor
) -> JobRunner:
    """A worker's job runner, with the testbed's scorer and the academy's lab grader as finish
    hooks (``bitgoeul worker``, and the app's own runner for tests and ``--wait``)."""
    return JobRunner(
        settings,
        sessions,
        store,
        executor,
        finish_hooks=[testbed_scorer(settings, store), academy_grader(settings, store)],
        test_set_context=testbed_context,
    )


def create_app(
    settings: Settings | None = None, *, migrate: bool = True, run_jobs: bool = False
) -> FastAPI:
    """The web app.  It only queues jobs: ``bitgoeul worker`` runs them.  ``run_jobs`` also runs
    a worker in the server's process (the tests' live hub); other tests drive
    ``app.state.job_runner`` themselves."""
    settings = settings or Settings()
    settings.secret()  # generate and keep the secret on first run
    if migrate:
        upgrade(settings)
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_jobs:
            app.state.job_runner.start()
        try:
            yield
        finally:
            if run_jobs:
                app.state.job_runner.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Bitgoeul",
        version=__version__,
        description="The open platform that runs an AI hub city.",
        openapi_url="/openapi.json",
        docs_url="/developers/api-docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.store = make_store(settings)
    # Held uploads and testbed files of earlier versions, from the data directory into the store.
    adopt_data_dir_files(settings, app.state.store)
    app.state.executor = make_executor(settings)
    app.state.job_runner = make_job_runner(
        settings, app.state.sessionmaker, app.state.store, app.state.executor
    )
    app.state.metrics = HubMetrics(app.state.sessionmaker)
    app.middleware("http")(app.state.metrics.middleware)

    _install_error_handlers(app)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from bitgoeul.accounts.api import audit_router
    from bitgoeul.accounts.api import router as accounts_router
    from bitgoeul.catalog.api import router as catalog_router
    from bitgoeul.civic.api import router as civic_router
    from bitgoeul.compute.api import router as compute_router
    from bitgoeul.dp.api import router as dp_router
    from bitgoeul.governance.api import router as governance_router
    from bitgoeul.linkage.api import router as linkage_router
    from bitgoeul.mydata.api import router as mydata_router
    from bitgoeul.programmes.api import academy_router
    from bitgoeul.programmes.api import router as programmes_router
    from bitgoeul.query.api import router as query_router
    from bitgoeul.testbed.api import router as testbed_router
    from bitgoeul.tower.api import metrics_router
    from bitgoeul.tower.api import router as tower_router
    from bitgoeul.web.account_pages import router as account_pages_router
    from bitgoeul.web.audit_pages import router as audit_pages_router
    from bitgoeul.web.civic_pages import router as civic_pages_router
    from bitgoeul.web.dataset_pages import router as dataset_pages_router
    from bitgoeul.web.developer_pages import router as developer_pages_router
    from bitgoeul.web.dp_pages import router as dp_pages_router
    from bitgoeul.web.governance_pages import router as governance_pages_router
    from bitgoeul.web.job_pages import router as job_pages_router
    from bitgoeul.web.linkage_pages import router as linkage_pages_router
    from bitgoeul.web.me_pages import router as me_pages_router
    from bitgoeul.web.mydata_pages import router as mydata_pages_router
    from bitgoeul.web.notification_pages import router as notification_pages_router
    from bitgoeul.web.operator_pages import router as operator_pages_router
    from bitgoeul.web.programme_pages import router as programme_pages_router
    from bitgoeul.web.query_pages import router as query_pages_router
    from bitgoeul.web.steward_pages import router as steward_pages_router
    from bitgoeul.web.testbed_pages import router as testbed_pages_router
    from bitgoeul.web.tower_pages import router as tower_pages_router
    from bitgoeul.web.views import router as web_router

    app.include_router(accounts_router, prefix="/api/v1")
    app.include_router(catalog_router, prefix="/api/v1")
    app.include_router(audit_router, prefix="/api/v1")
    app.include_router(governance_router, prefix="/api/v1")
    app.include_router(linkage_router, prefix="/api/v1")
    app.include_router(query_router, prefix="/api/v1")
    app.include_router(compute_router, prefix="/api/v1")
    app.include_router(testbed_router, prefix="/api/v1")
    app.include_router(dp_router, prefix="/api/v1")
    app.include_router(tower_router, prefix="/api/v1")
    app.include_router(programmes_router, prefix="/api/v1")
    app.include_router(academy_router, prefix="/api/v1")
    app.include_router(metrics_router)
    app.include_router(mydata_router, prefix="/api/v1")
    app.include_router(civic_router, prefix="/api/v1")
    app.include_router(web_router)
    app.include_router(mydata_pages_router)
    # /datasets/new before /datasets/{slug}.
    app.include_router(steward_pages_router)
    app.include_router(dataset_pages_router)
    app.include_router(account_pages_router)
    app.include_router(governance_pages_router)
    app.include_router(notification_pages_router)
    app.include_router(audit_pages_router)
    app.include_router(query_pages_router)
    app.include_router(dp_pages_router)
    app.include_router(job_pages_router)
    app.include_router(linkage_pages_router)
    app.include_router(testbed_pages_router)
    # /hub/tower before the operator pages' /hub/... routes.
    app.include_router(tower_pages_router)
    app.include_router(civic_pages_router)
    app.include_router(operator_pages_router)
    app.include_router(programme_pages_router)
    app.include_router(me_pages_router)
    app.include_router(developer_pages_router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BitgoeulError)
    async def domain_error(request: Request, exc: BitgoeulError) -> Response:
        if _wants_html(request):
            from bitgoeul.web.views import render_error

            return render_error(request, exc.status_code, exc.message)
        from bitgoeul.web.i18n import request_language

        detail = translate_tree(exc.detail, request_language(request))
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        body = {"detail": detail}
        if exc.where is not None:
            body["where"] = exc.where
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_html(request):
            from bitgoeul.web.views import render_error

            # A page's address or form a person can fix: which part, and what it should be.
            problems = joined(
                msg(
                    "{field}: {problem}",
                    field=".".join(str(p) for p in e.get("loc", ())[1:]) or "form",
                    problem=pydantic_problem(e),
                )
                for e in exc.errors()
            )
            return render_error(
                request,
                422,
                msg("This address or form is not valid: {problems}.", problems=problems),
            )
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            from bitgoeul.web.views import render_error

            # Starlette's own words ("Not Found") said as the hub says things.
            said: str = str(exc.detail)
            if exc.status_code == 404:
                said = msg("There is no page at {path}.", path=request.url.path)
            elif exc.status_code == 405:
                said = msg("This address does not answer {method} requests.", method=request.method)
            return render_error(request, exc.status_code, said)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
