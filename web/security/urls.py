"""Submit-time URL guard for REST: a refused URL is a 422 naming the field and a code."""

from __future__ import annotations

from litestar.exceptions import ValidationException

from runtime import urlguard


async def require_safe_url(url: str | None, field: str) -> None:
    """Raise 422 when `url` is one the platform must not call (runtime.urlguard)."""
    if url is None:
        return
    try:
        await urlguard.check_url(url)
    except urlguard.UnsafeUrl as exc:
        errors = [{"key": field, "code": exc.code, "message": str(exc)}]
        raise ValidationException(str(exc), extra=errors, status_code=422) from exc
