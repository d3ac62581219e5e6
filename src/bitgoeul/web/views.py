"""Server-rendered pages."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)


def render_error(request: Request, status_code: int, message: str) -> Response:
    return HTMLResponse(f"<h1>{status_code}</h1><p>{message}</p>", status_code=status_code)
