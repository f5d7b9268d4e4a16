"""Stable article ids, so the same article ingested twice is one document.

The id is a hash of the canonical URL when there is one (scheme and host lower-cased, fragment,
tracking parameters and trailing slash dropped, query sorted), else of the normalised title and
body (NFC, whitespace collapsed, case-folded). 128 bits of SHA-256, as 32 hex characters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|ocid)$", re.I)
_SPACE = re.compile(r"\s+")


def canonical_url(url: str) -> str:
    """The canonical form of an article URL (empty string when there is nothing to keep)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip()
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    path = parts.path.rstrip("/") or "/"
    netloc = parts.netloc.lower()
    if netloc.startswith("www."):
        netloc = netloc[4:]
    scheme = "https" if parts.scheme.lower() in {"http", "https"} else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def normalise_content(text: str) -> str:
    """Content normalised for hashing: NFC, collapsed whitespace, case-folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


def article_id(*, url: str | None, title: str | None, body: str) -> str:
    """The stable id of an article."""
    if url and url.strip():
        basis = "url\x00" + canonical_url(url)
    else:
        basis = "text\x00" + normalise_content(title or "") + "\x00" + normalise_content(body)
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]
