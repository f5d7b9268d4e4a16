"""Every input the fuzzers ever crashed on, and every hand-written seed, through the same target
functions ``make fuzz`` runs (``tools/fuzz``), without atheris.

A crash file under ``tests/fuzz_corpus/crashes/<target>/`` is kept once its defect is fixed, so
this replay fails if the defect returns; the seeds pin the hostile inputs the corpus starts
from. The targets raise only on a defect (see their docstrings), so passing means: decoded or
refused like any consumer would, cleaned and enriched without an exception, contract kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tools.fuzz import fuzz_events
from tools.fuzz.common import CORPUS, CRASHES, corpus_files
from tools.fuzz.fuzz_cleaner import check_page
from tools.fuzz.fuzz_cleaner import seeds as page_seeds
from tools.fuzz.fuzz_events import check_event, mutate
from tools.fuzz.fuzz_events import seeds as event_seeds

TARGETS: dict[str, Callable[[bytes], None]] = {"events": check_event, "cleaner": check_page}
INPUTS = [
    pytest.param(target, path, id=f"{target}/{path.parent.name}/{path.name}")
    for target in TARGETS
    for path in corpus_files(CRASHES / target, CORPUS / target)
]


def test_every_target_has_seeds_to_start_from() -> None:
    for target in TARGETS:
        assert list(corpus_files(CORPUS / target)), target


@pytest.mark.parametrize(("target", "path"), INPUTS)
def test_kept_inputs_replay_without_a_defect(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


def test_generated_seeds_replay_without_a_defect() -> None:
    for data in event_seeds().values():
        check_event(data)
    for data in page_seeds().values():
        check_page(data)


class _ByteMutator:
    """Stands in for ``atheris.Mutate``, which works only inside a running fuzzer."""

    @staticmethod
    def Mutate(data: bytes, max_size: int) -> bytes:  # noqa: N802 - atheris's name
        return data[: max_size // 2]


def test_the_event_mutator_keeps_json_objects_json_and_fields_reachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fuzz_events, "atheris", _ByteMutator)
    seed = next(iter(event_seeds().values()))
    outputs = [mutate(seed, 4096, n) for n in range(200)]
    assert all(len(out) <= 4096 for out in outputs)
    assert len(set(outputs)) > 50  # it explores, rather than repeating one input
    for out in outputs:
        check_event(out)
