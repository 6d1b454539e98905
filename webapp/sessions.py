"""Two kinds of session: researchers in the database, judges in a signed cookie.

Researchers log in, so their session must end when they log out and expire when idle:
Django's database backend (``SESSION_ENGINE``), saved on every request so that
``SESSION_COOKIE_AGE`` is an idle timeout. A copied cookie dies with the row.

Judges have no account. Their browser keeps one signed cookie (``newseval_judge``) that
holds, per study, the judge's opaque ``session_key`` and a one-time notice; nothing in it
is secret (a judge may read it: it is signed, not encrypted) and nothing in it tells a
judge anything about the texts. Serving a judge therefore reads no session row.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

JUDGE_COOKIE = "newseval_judge"
_SALT = "newseval.judge-cookie"
_ATTRIBUTE = "_newseval_judge_cookie"
# A browser can take part in many studies; the cookie keeps the newest this many.
MAX_STUDIES = 50


class JudgeCookie:
    """The judge's cookie as read from the request; changes are written on the response."""

    def __init__(self, request: HttpRequest):
        self.keys: dict[str, str] = {}
        self.notice = ""
        self.modified = False
        raw = request.get_signed_cookie(
            JUDGE_COOKIE, default=None, salt=_SALT, max_age=settings.NEWSEVAL_JUDGE_COOKIE_AGE
        )
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if isinstance(data, dict):
            keys = data.get("k")
            if isinstance(keys, dict):
                self.keys = {
                    str(k): v for k, v in keys.items() if isinstance(v, str) and len(v) <= 64
                }
            if isinstance(data.get("n"), str):
                self.notice = data["n"][:40]

    def remember(self, study_id: int, session_key: str) -> None:
        keys = {k: v for k, v in self.keys.items() if k != str(study_id)}
        keys[str(study_id)] = session_key
        self.keys = dict(list(keys.items())[-MAX_STUDIES:])
        self.modified = True

    def key_for(self, study_id: int) -> str | None:
        return self.keys.get(str(study_id))

    def set_notice(self, code: str) -> None:
        self.notice, self.modified = code, True

    def pop_notice(self) -> str:
        code = self.notice
        if code:
            self.notice, self.modified = "", True
        return code

    def dumps(self) -> str:
        data: dict = {"k": self.keys}
        if self.notice:
            data["n"] = self.notice
        return json.dumps(data, separators=(",", ":"))


def judge_cookie(request: HttpRequest) -> JudgeCookie:
    jar = getattr(request, _ATTRIBUTE, None)
    if jar is None:
        jar = JudgeCookie(request)
        setattr(request, _ATTRIBUTE, jar)
    return jar


class JudgeCookieMiddleware:
    """Writes the judge's cookie when a view changed it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        jar = getattr(request, _ATTRIBUTE, None)
        if jar is not None and jar.modified:
            response.set_signed_cookie(
                JUDGE_COOKIE,
                jar.dumps(),
                salt=_SALT,
                max_age=settings.NEWSEVAL_JUDGE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
