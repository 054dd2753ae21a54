"""``GET /``: a one-page client (plain HTML, CSS and JavaScript, no build step), its favicon, and
``/docs`` (Swagger UI) and ``/redoc`` served with their scripts from installed packages, so they
load on a machine without internet access."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["web"], include_in_schema=False)

# name -> (package holding it, media type). fastapi-offline ships Swagger UI's and ReDoc's bundles.
ASSETS: dict[str, tuple[str, str]] = {
    "app.js": ("gateway.web", "text/javascript; charset=utf-8"),
    "style.css": ("gateway.web", "text/css; charset=utf-8"),
    "favicon.svg": ("gateway.web", "image/svg+xml"),
    "swagger-ui-bundle.js": ("fastapi_offline.static", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("fastapi_offline.static", "text/css; charset=utf-8"),
    "redoc.standalone.js": ("fastapi_offline.static", "text/javascript; charset=utf-8"),
}
CACHE = {"Cache-Control": "public, max-age=3600"}
# The docs pages may load nothing from elsewhere: ReDoc's bundle has a hard-coded logo URL
# (cdn.redoc.ly), which the browser then never requests.
SAME_ORIGIN_ONLY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'",
}

# The page's own scripts only (no inline script: a file name shown in it can never run), its
# images from blobs it made.
PAGE_POLICY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'",
}


@cache
def _read(package: str, name: str) -> bytes:
    return resources.files(package).joinpath(name).read_bytes()


@router.get("/")
async def index() -> HTMLResponse:
    return HTMLResponse(_read("gateway.web", "index.html").decode("utf-8"), headers=PAGE_POLICY)


@router.get("/assets/{name}", name="web_asset")
async def asset(name: str) -> Response:
    """A file of the page or of the docs; 404 ``not_found`` for any other name."""
    if name not in ASSETS:
        raise HTTPException(404, f"no asset named {name!r}")
    package, media_type = ASSETS[name]
    return Response(_read(package, name), media_type=media_type, headers=CACHE)


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for it on every page: the SVG icon (Chromium and Firefox accept SVG here)."""
    return await asset("favicon.svg")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=_openapi_path(request), title=f"{request.app.title} - Swagger UI",
        swagger_js_url=_asset_path(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset_path(request, "swagger-ui.css"),
        swagger_favicon_url=_asset_path(request, "favicon.svg"),
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )
    page.headers.update(SAME_ORIGIN_ONLY)
    return page


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=_openapi_path(request), title=f"{request.app.title} - ReDoc",
        redoc_js_url=_asset_path(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset_path(request, "favicon.svg"),
        with_google_fonts=False,
    )
    page.headers.update(SAME_ORIGIN_ONLY)
    return page


def _openapi_path(request: Request) -> str:
    return request.scope.get("root_path", "") + str(request.app.openapi_url)


def _asset_path(request: Request, name: str) -> str:
    return request.scope.get("root_path", "") + request.app.url_path_for("web_asset", name=name)
