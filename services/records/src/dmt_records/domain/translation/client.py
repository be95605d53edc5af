"""A client of a LibreTranslate-compatible server: ``POST {base}/translate``.

Request ``{"q", "source", "target", "format": "text", "api_key"?}``, answer
``{"translatedText": ...}``; errors come as ``{"error": ...}`` with a 4xx or 5xx status. Failures
are sorted into those worth retrying (the server is down, slow, overloaded or rate-limiting)
and those that are not (the server refuses the request itself: an unsupported language, a
wrong API key), so the worker knows whether to back off or give up.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

#: Statuses that say "not now" rather than "not this request".
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Statuses that say the server as a whole is unavailable, not just this one text.
OUTAGE_STATUSES = frozenset({429, 502, 503, 504})


class TranslationError(Exception):
    """A translation that did not come back.

    ``retryable``: the same request may well work later. ``outage``: the server as a whole is
    unreachable or overloaded, so the other texts of a batch should wait rather than try now.
    """

    def __init__(self, message: str, *, retryable: bool, outage: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.outage = outage


class Translator:
    """One pooled HTTP client to the translation server, made when the records service starts."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        connect_timeout: float = 1.0,
        timeout: float = 30.0,
        languages: Mapping[str, str] | None = None,
        max_connections: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.languages = dict(languages or {})
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout, pool=timeout),
            limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=4.0),
            follow_redirects=False,
            trust_env=False,
        )

    def code(self, language: str) -> str:
        """The server's name of one of our languages (``zh`` may be ``zh-Hans`` there)."""
        return self.languages.get(language, language)

    async def translate(self, text: str, source: str, target: str) -> str:
        body: dict[str, str] = {"q": text, "source": self.code(source), "target": self.code(target), "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            response = await self._client.post("/translate", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TranslationError(f"translator unreachable: {exc!r}", retryable=True, outage=True) from exc
        except httpx.TimeoutException as exc:
            raise TranslationError(f"translator timed out: {exc!r}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise TranslationError(f"translator connection failed: {exc!r}", retryable=True) from exc
        if response.status_code != 200:
            status = response.status_code
            message = f"translator answered {status}: {_error_of(response)}"
            retryable = status in RETRYABLE_STATUSES or status >= 500
            raise TranslationError(message, retryable=retryable, outage=status in OUTAGE_STATUSES)
        try:
            translated = response.json().get("translatedText")
        except (ValueError, AttributeError) as exc:
            raise TranslationError("translator answered something other than JSON", retryable=True) from exc
        if not isinstance(translated, str) or not translated.strip():
            raise TranslationError("translator answered without a translatedText", retryable=True)
        return translated.strip()

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_of(response: httpx.Response) -> str:
    """The server's own words (LibreTranslate: ``{"error": ...}``), else the start of its answer."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"][:200]
    return response.text[:200]
