"""Fuzz target: arbitrary text and HTML through the page cleaner and the whole enrichment.

``clean_page`` (``services/enrich/cleaning.py``) and ``Enricher().enrich`` promise never to
raise on odd text — problems become flags — and enrich's output is what index decodes next.
So any exception is a crash, and so is an enriched article that breaks the contract's own
rules: one that does not survive its JSON, or a mention whose ``text`` is not
``article[field][start:end]``.

The input's first byte chooses how the rest becomes text (UTF-8 with replacement characters,
UTF-8 with lone surrogates, UTF-16 with any code unit) and whether a title is split off, so the
fuzzer reaches control characters, bidi marks and unpaired surrogates as easily as letters.

Run: ``python tools/fuzz/fuzz_cleaner.py -max_total_time=60`` (libFuzzer flags); ``make fuzz``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.fuzz.common import instrumented

#: Modules with numba-compiled functions: numba cannot compile atheris's coverage probes.
NUMBA_MODULES = [
    "services.enrich.ner.tokenize",
    "services.enrich.ner.tagger",
    "services.enrich.ner.crf",
]
with instrumented(
    __name__ == "__main__",
    include=["services.enrich", "shared.text", "shared.names"],
    exclude=NUMBA_MODULES,
):
    from services.enrich.cleaning import clean_page
    from services.enrich.pipeline import Enricher
    from shared.models import EnrichedArticle, RawArticle

TARGET = "cleaner"
#: The enrichment's text limits, small so that the fuzzer reaches the cut-offs too.
MAX_CHARS = 4_000


def page_input(data: bytes) -> tuple[str | None, str]:
    """The title and body an input stands for (see the module docstring)."""
    if not data:
        return None, ""
    mode, rest = data[0], data[1:]
    if mode % 3 == 0:
        text = rest.decode("utf-8", "replace")
    elif mode % 3 == 1:
        text = rest.decode("utf-8", "surrogateescape")
    else:
        text = rest[: len(rest) // 2 * 2].decode("utf-16-le", "surrogatepass")
    if mode & 0x80:
        title, _, body = text.partition("\n")
        return title, body
    return None, text


def page_bytes(text: str, title: str | None = None) -> bytes:
    """The input that stands for this page (UTF-8), for seeds."""
    if title is None:
        return b"\x00" + text.encode()
    return b"\x81" + f"{title}\n{text}".encode("utf-8", "surrogateescape")


@functools.cache
def enricher() -> Enricher:
    """One enricher per process (the knowledge base and the tagger load once)."""
    return Enricher(max_chars=MAX_CHARS)


def check_page(data: bytes) -> None:
    """One page through the cleaner and the enrichment; raises only on a defect."""
    title, body = page_input(data)
    page = clean_page(body, title=title, max_chars=MAX_CHARS)
    assert isinstance(page.body, str) and "\x00" not in page.body
    raw = RawArticle(id="0" * 32, title=title, body=body)
    article = enricher().enrich(raw)
    encoded = article.model_dump_json()
    assert EnrichedArticle.model_validate_json(encoded).model_dump_json() == encoded
    texts = {"title": article.title or "", "body": article.body}
    for entity in article.entities:
        for mention in entity.mentions:
            found = texts[mention.field][mention.start : mention.end]
            assert found == mention.text, (entity.id, mention, found)


def seeds() -> dict[str, bytes]:
    """Generated seeds: the test suite's scraped pages and hostile characters, as inputs."""
    from tests.unit import hostile
    from tests.unit.enrich import pages

    out = {
        f"gen-page-{name.lower()}.txt": page_bytes(value)
        for name, value in vars(pages).items()
        if name.endswith("_PAGE") and isinstance(value, str)
    }
    out["gen-nasty.txt"] = b"\x01" + hostile.NASTY.encode("utf-8", "surrogatepass")
    out["gen-nasty-utf16.txt"] = b"\x02" + hostile.NASTY.encode("utf-16-le", "surrogatepass")
    return out


def main() -> None:
    from tools.fuzz.common import fuzz

    fuzz(TARGET, check_page, seeds())


if __name__ == "__main__":
    main()
