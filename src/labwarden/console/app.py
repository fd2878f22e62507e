"""The Starlette application: routes, sessions and CSRF, rendering.

`create_app(lab, auth, extra_routes=...)`: `extra_routes` is where routes the console does
not own are added (the Prometheus `/metrics` endpoint is mounted there); they are served
without a session, so they must carry no secret and no finding text.
"""

from __future__ import annotations

import os
import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from labwarden.console import pages, writes
from labwarden.console.auth import SESSION_COOKIE, Auth, csrf_ok
from labwarden.console.guard import Guard

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def create_app(lab, auth: Auth, *, loopback_only: bool = True, https: bool = False,
               every: float | None = None, extra_routes: list | None = None):
    """The console for `lab`. `extra_routes`: Starlette routes or mounts added as they are
    (no session, no CSRF: read-only endpoints such as /metrics)."""
    templates = pages.environment(os.path.join(HERE, "templates"))

    def render(request: Request, template: str, session: dict | None, code: int = 200,
               **values) -> HTMLResponse:
        flash = session.pop("flash", None) if session else None
        html = templates.get_template(template).render(
            request_path=request.url.path, session=session, flash=flash,
            auth_required=auth.required, csrf=session["csrf"] if session else "",
            user=session.get("user") if session else None, audit=lab.status, **values)
        return HTMLResponse(html, status_code=code)

    def open_session(request: Request) -> tuple[dict | None, str | None]:
        """The request's session; an open console (no users, no token) starts one, so
        that its forms carry a CSRF token too. (session, new cookie value or None)."""
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        if auth.required:            # a pre-login session only carries the login form
            return (session, None) if session and session.get("user") else (None, None)
        if session is not None:
            return session, None
        sid, session = auth.new_session(None)
        return session, sid

    def with_cookie(response: Response, sid: str | None) -> Response:
        if sid:
            response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict",
                                secure=https, path="/")
        return response

    def may_write(session: dict | None, form) -> bool:
        """A session that may write (logged in, when logins are required) and its token."""
        if session is None or (auth.required and not session.get("user")):
            return False
        return csrf_ok(session, str(form.get("csrf", "")))

    def page(handler):
        """A GET page: a session (or the login page), the handler's values, rendered."""
        async def endpoint(request: Request) -> Response:
            session, sid = open_session(request)
            if session is None:
                return RedirectResponse("/login", status_code=303)
            try:
                template, values = await run_in_threadpool(handler, lab, request)
            except pages.NotFound as exc:
                return with_cookie(render(request, "error.html.j2", session, 404,
                                          title="Not found", message=str(exc)), sid)
            except _user_errors() as exc:    # a file the lab's people edit is wrong
                return with_cookie(render(request, "error.html.j2", session, 500,
                                          title="The lab's files cannot be read",
                                          message=_message(exc)), sid)
            return with_cookie(render(request, template, session, **values), sid)
        return endpoint

    def write(handler, back):
        """A POST that writes: a session and its CSRF token, or 403 and nothing written."""
        async def endpoint(request: Request) -> Response:
            session = auth.session(request.cookies.get(SESSION_COOKIE))
            form = await request.form()
            if session is None or not may_write(session, form):
                return PlainTextResponse("forbidden: no session or a wrong CSRF token; "
                                         "nothing written", status_code=403)
            name = request.path_params.get("name", "")
            if name and not SERVICE.match(name):
                return PlainTextResponse("no such service", status_code=404)
            who = session.get("user")
            if who is None:                    # an open console: the form says who
                who = str(form.get("by", "")).strip()
                if not who:
                    session["flash"] = ("error", ["say who you are (the “by” field): every "
                                                  "write records who made it"])
                    return RedirectResponse(back(request, form), status_code=303)
            try:
                lines = await run_in_threadpool(handler, lab, who, name, form)
                session["flash"] = ("ok", lines)
            except writes.Refused as exc:
                session["flash"] = ("error", str(exc).splitlines())
            except _user_errors() as exc:
                session["flash"] = ("error", [_message(exc)])
            return RedirectResponse(back(request, form), status_code=303)
        return endpoint

    async def login_page(request: Request) -> Response:
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        if not auth.required:
            return RedirectResponse("/", status_code=303)
        sid = None
        if session is None:                     # a pre-login session: the form's CSRF token
            sid, session = auth.new_session(None)
        return with_cookie(render(request, "login.html.j2", session,
                                  users=bool(auth.users), token=bool(auth.token)), sid)

    async def login(request: Request) -> Response:
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        form = await request.form()
        if session is None or not csrf_ok(session, str(form.get("csrf", ""))):
            return PlainTextResponse("forbidden: no session or a wrong CSRF token",
                                     status_code=403)
        user = await run_in_threadpool(auth.login, str(form.get("name", "")),
                                       str(form.get("secret", "")))
        if user is None:
            session["flash"] = ("error", ["wrong name, password or token"])
            return RedirectResponse("/login", status_code=303)
        auth.end(request.cookies.get(SESSION_COOKIE))       # a new session at login
        sid, fresh = auth.new_session(user)
        return with_cookie(RedirectResponse("/", status_code=303), sid)

    async def logout(request: Request) -> Response:
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        form = await request.form()
        if session is None or not csrf_ok(session, str(form.get("csrf", ""))):
            return PlainTextResponse("forbidden", status_code=403)
        auth.end(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login" if auth.required else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def reaudit(request: Request) -> Response:
        session = auth.session(request.cookies.get(SESSION_COOKIE))
        form = await request.form()
        if not may_write(session, form):
            return PlainTextResponse("forbidden: no session or a wrong CSRF token",
                                     status_code=403)
        lab.start_audit("asked from the console")
        return RedirectResponse("/audit", status_code=303)

    def back_to_walk(request, form):
        query = str(form.get("back", ""))
        query = query if re.fullmatch(r"[A-Za-z0-9=&_.%-]*", query) else ""
        return f"/service/{request.path_params['name']}" + (f"?{query}" if query else "")

    def back_to_signoff(request, form):
        return f"/service/{request.path_params['name']}/signoff"

    routes = [
        Route("/", page(pages.overview)),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/service/{name}", page(pages.walk)),
        Route("/service/{name}/attest", write(_attest_form, back_to_walk), methods=["POST"]),
        Route("/service/{name}/signoff", page(pages.signoff)),
        Route("/service/{name}/approve", write(_approve_form, back_to_signoff),
              methods=["POST"]),
        Route("/service/{name}/record", write(_record_form, back_to_signoff),
              methods=["POST"]),
        Route("/service/{name}/archive", write(_archive_form, back_to_signoff),
              methods=["POST"]),
        Route("/findings", page(pages.findings)),
        Route("/history", page(pages.history)),
        Route("/audit", page(pages.audit_status), methods=["GET"]),
        Route("/audit", reaudit, methods=["POST"]),
        Route("/log", page(pages.log)),
        Mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static"),
    ]
    # The place for routes the console does not own (the lead mounts /metrics here).
    routes += list(extra_routes or [])
    from labwarden.console.scheduler import lifespan

    app = Starlette(routes=routes, lifespan=lifespan(lab, every))
    app.state.lab = lab
    return Guard(app, loopback_only=loopback_only, https=https)


def _attest_form(lab, who, name, form):
    return writes.attest(lab, who, name, str(form.get("scope", "service")),
                         [str(v) for v in form.getlist("item")],
                         note=str(form.get("note", "")) if form.get("action") != "na" else "",
                         evidence=str(form.get("evidence", "")),
                         expires=str(form.get("expires", "")),
                         na=str(form.get("note", "")) if form.get("action") == "na" else "")


def _approve_form(lab, who, name, form):
    approver = str(form.get("name", "")).strip() or who
    return writes.approve(lab, who, name, str(form.get("role", "")), approver)


def _record_form(lab, who, name, form):
    return writes.record_deployment(lab, who, name, str(form.get("method", "")),
                                    str(form.get("status", "")), str(form.get("issues", "")),
                                    str(form.get("lessons", "")),
                                    str(form.get("override", "")))


def _archive_form(lab, who, name, form):
    return writes.archive(lab, who, name)


def _user_errors() -> tuple[type[BaseException], ...]:
    """What a write reports to the person rather than as a server error: the CLI's own
    refusals (bad input, a file that cannot be written)."""
    from labwarden.config import ConfigError
    from labwarden.errors import UsageError
    from labwarden.fsio import WriteRefused

    return (ConfigError, UsageError, WriteRefused)


def _message(exc: BaseException) -> str:
    location = getattr(exc, "location", None)
    text = str(exc)
    return f"{location}: {text}" if location and str(location) not in text else text
