"""The HTTP side of the Maximo backend: one client for Maximo's REST JSON API (``<api root>/os/<object structure>``).

Every call sends the ``apikey`` header and ``lean=1``; collection queries follow
``responseInfo.nextPage`` (rebased onto the configured host: Maximo behind a proxy or a route often
answers with its internal host name). Idempotent GETs are retried, bounded, on 5xx, 429 and
connection errors; POSTs never are (a retried create could make two work orders). Maximo's own
refusals (``{"Error": {"reasonCode": "BMXAA...", ...}}``) become a :class:`~maintgraph.errors.CMMSError`
carrying its BMXAA message. The API key never appears in a message: it travels in a header, never in
a URL, and is masked if echoed back. The httpx client built here stores no cookie: with a session
cookie beside the API key, Maximo may prefer the (credential-less) session and answer 401.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter, wait_none

from maintgraph.errors import CMMSError, ConfigError, NotFound, ServiceUnavailable
from maintgraph.urls import redact_url

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 3


class _Transient(Exception):
    """A failure worth another try (GETs only): 5xx, 429, or no connection."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MaximoClient:
    """Requests to one Maximo's REST API with its API key: retries, paging, refusals as errors."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
        *,
        connect_timeout_s: float | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_wait_s: float = 0.5,
        page_size: int = 100,
    ) -> None:
        if not api_key:
            raise ConfigError(
                "Maximo's REST API needs an API key (Maximo: Administration > API Keys)",
                setting="MAINTGRAPH_CMMS_API_KEY",
            )
        self.base_url = base_url.rstrip("/")
        # ``…/maximo`` is the documented form; ``…/maximo/api`` or ``…/maximo/oslc`` are taken as given.
        self.api_root = self.base_url if self.base_url.endswith(("/api", "/oslc")) else self.base_url + "/api"
        self.max_retries, self.retry_wait_s, self.page_size = max(0, max_retries), retry_wait_s, max(1, page_size)
        self._api_key = api_key
        self._owns_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s or timeout_s),
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # store no cookie, ever
        )

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def os_url(self, name: str) -> str:
        return f"{self.api_root}/os/{name}"

    def href(self, record: Mapping[str, Any], what: str) -> str:
        href = record.get("href")
        if not href:
            raise CMMSError(f"{what}: Maximo sent no resource link (href) for it; is lean=1 honoured?")
        return self._rebase(str(href))

    def _rebase(self, href: str) -> str:
        """A link Maximo sent, on the configured scheme and host (it may name its internal host)."""
        base = urlsplit(self.base_url)
        parts = urlsplit(href)
        if not parts.scheme:  # relative, e.g. "oslc/os/mxapiasset/_..." or "/maximo/api/os/..."
            root = urlunsplit((base.scheme, base.netloc, "", "", ""))
            prefix = "" if href.startswith("/") else base.path.rstrip("/") + "/"
            return root + prefix + href
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def collection(
        self,
        os_name: str,
        what: str,
        *,
        where: str,
        select: str,
        order_by: str | None = None,
        limit: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Members of a collection query, following ``responseInfo.nextPage`` (up to ``limit``)."""
        params: dict[str, str] | None = {"oslc.where": where, "oslc.select": select, **(extra or {})}
        if order_by:
            params["oslc.orderBy"] = order_by
        if limit is not None:
            params["oslc.pageSize"] = str(min(limit, self.page_size))
        url, seen, members = self.os_url(os_name), set(), []
        while True:
            data = self._json(self.call("GET", url, what, params=params), what)
            members.extend(m for m in data.get("member") or [] if isinstance(m, dict))
            info = data.get("responseInfo") or {}
            next_href = (info.get("nextPage") or {}).get("href") if isinstance(info, dict) else None
            if not next_href or (limit is not None and len(members) >= limit):
                break
            url, params = self._rebase(str(next_href)), None
            if url in seen or len(seen) >= 1000:  # a page that points back at itself must not loop forever
                break
            seen.add(url)
        return members[:limit] if limit is not None else members

    def create(self, os_name: str, what: str, body: Mapping[str, Any], select: str) -> dict[str, Any]:
        """POST a new record (never retried) and answer it as Maximo stored it: the record the
        ``properties`` header asks back, or the one the answer's Location names."""
        response = self.call("POST", self.os_url(os_name), what, body=body, headers={"properties": select})
        data = self._json(response, what) if response.content.strip() else {}
        if data:
            return data
        location = response.headers.get("location")
        if not location:
            raise CMMSError(f"{what}: Maximo answered {response.status_code} with neither the record nor its link")
        return self._json(self.call("GET", self._rebase(location), what, params={"oslc.properties": select}), what)

    def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request (GETs retried on transient failures); a refusal becomes the matching error."""
        # httpx replaces a URL's query with ``params``: keep a followed link's own (nextPage, Location)
        query = httpx.URL(url).params.merge({"lean": "1", **(params or {})})
        sent_headers = {"apikey": self._api_key, "accept": "application/json", **(headers or {})}
        attempts = self.max_retries + 1 if method == "GET" else 1
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=self.retry_wait_s, max=8) if self.retry_wait_s > 0 else wait_none(),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "Maximo %s failed (%s); retry %d of %d",
                what,
                self._scrub(str(state.outcome.exception())),
                state.attempt_number,
                attempts - 1,
            ),
        )
        shown = self._shown(url)
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        response = self.client.request(method, url, params=query, json=body, headers=sent_headers)
                    except httpx.TransportError as exc:
                        raise _Transient(f"could not be reached ({type(exc).__name__}: {exc})") from exc
                    if response.status_code >= 500 or response.status_code == 429:
                        raise _Transient(
                            f"answered {response.status_code} {response.reason_phrase}" + _detail(response)
                        )
        except _Transient as exc:
            tries = f" (after {attempts} attempts)" if attempts > 1 else " (not retried: it is a write)"
            raise ServiceUnavailable(self._scrub(f"{what}: Maximo at {shown} {exc.reason}{tries}")) from None
        except httpx.HTTPError as exc:  # an invalid URL, too many redirects, a broken body
            raise ServiceUnavailable(self._scrub(f"{what}: Maximo at {shown} failed ({exc})")) from None
        if response.is_success:
            return response
        self._refused(response, what)

    def _refused(self, response: httpx.Response, what: str) -> NoReturn:
        code, message = response.status_code, _maximo_message(response)
        if 300 <= code < 400:  # e.g. to a login page: not the REST API, or the key was not taken
            raise CMMSError(
                self._scrub(
                    f"{what}: Maximo at {self._shown(str(response.request.url))} redirected to "
                    f"{self._shown(response.headers.get('location', '?'))} instead of answering; check that "
                    "MAINTGRAPH_CMMS_URL is Maximo's root (…/maximo) and that the API key is valid"
                )
            )
        if code == 404:
            raise NotFound(self._scrub(f"{what}: Maximo has no such record ({message})"))
        if code in (401, 403):
            raise CMMSError(
                self._scrub(
                    f"{what}: Maximo refused the API key ({code}: {message}); check MAINTGRAPH_CMMS_API_KEY and the "
                    "security groups of its user"
                )
            )
        raise CMMSError(self._scrub(f"{what}: Maximo refused it ({message})"))

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ServiceUnavailable(
                self._scrub(
                    f"{what}: Maximo at {self._shown(str(response.request.url))} answered {response.status_code} "
                    "with something other than a JSON object (a login page or a proxy in the way?)"
                )
            )
        return data

    def _shown(self, url: str) -> str:
        """The URL as messages show it: no query string, no user info."""
        parts = urlsplit(url)
        return redact_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if len(self._api_key) >= 4 else text


def _maximo_message(response: httpx.Response) -> str:
    """Maximo's own words: ``Error.message`` (lean) or ``oslc:Error.oslc:message``, else the body's start."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("Error") or data.get("oslc:Error")
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("oslc:message") or "").strip()
            reason = str(error.get("reasonCode") or error.get("spi:reasonCode") or "").strip()
            if message:
                return message if not reason or reason in message else f"{reason} - {message}"
            if reason:
                return reason
    text = " ".join(response.text.split())
    if "<" in text:  # an HTML error page from Maximo's web server or a proxy
        text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text[:200] or f"HTTP {response.status_code} {response.reason_phrase}"


def _detail(response: httpx.Response) -> str:
    message = _maximo_message(response)
    return f": {message}" if message and message != f"HTTP {response.status_code} {response.reason_phrase}" else ""
