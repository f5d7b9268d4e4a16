"""What both fuzz targets share: where corpora and crashes live, and the atheris entry point."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType

atheris: ModuleType | None
try:
    import atheris
except ImportError:  # the regression tests replay the targets without atheris
    atheris = None

REPO = Path(__file__).resolve().parents[2]
#: Hand-written seeds (one folder per target) and every crash ever found (``crashes/<target>``),
#: committed; the regression tests replay both.
CORPUS = REPO / "tests" / "fuzz_corpus"
CRASHES = CORPUS / "crashes"
#: Inputs a run finds interesting, kept between runs but not committed.
WORK = REPO / ".khabar" / "fuzz"


def instrumented(
    fuzzing: bool, include: Sequence[str], exclude: Sequence[str] = ()
) -> AbstractContextManager[object]:
    """Around a target's imports: atheris's coverage probes on the ``include`` modules imported
    inside when ``fuzzing`` (the target runs as a script and atheris is installed), else nothing.
    Modules with numba-compiled functions belong in ``exclude``: numba cannot compile probes."""
    if atheris is None or not fuzzing:
        return contextlib.nullcontext()
    manager: AbstractContextManager[object] = atheris.instrument_imports(
        include=list(include), exclude=list(exclude)
    )
    return manager


def corpus_files(*folders: Path) -> Iterator[Path]:
    """Every input file under ``folders`` (READMEs and dot-files left out), in a stable order."""
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith((".", "README")):
                    yield path


def fuzz(
    target: str,
    test_one_input: Callable[[bytes], None],
    seeds: dict[str, bytes],
    mutator: Callable[[bytes, int, int], bytes] | None = None,
) -> None:
    """Run libFuzzer through atheris on ``test_one_input``.

    Command-line arguments are libFuzzer's own (``-max_total_time=60``). New interesting inputs
    go to the work corpus (``.khabar/fuzz/<target>``, where ``seeds`` are written first), the
    committed seeds and crashes are read as corpus too, and a crash is written to
    ``tests/fuzz_corpus/crashes/<target>/`` — to be kept, with its fix, as a regression test.
    """
    if atheris is None:
        raise SystemExit("atheris is not installed (make fuzz installs it)")
    work = WORK / target
    work.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (work / name).write_bytes(data)
    crashes = CRASHES / target
    crashes.mkdir(parents=True, exist_ok=True)
    folders = [str(work), *(str(f) for f in (CORPUS / target, crashes) if f.is_dir())]
    argv = [sys.argv[0], f"-artifact_prefix={crashes}/", *sys.argv[1:], *folders]
    if mutator is None:
        atheris.Setup(argv, test_one_input)
    else:
        atheris.Setup(argv, test_one_input, custom_mutator=mutator)
    atheris.Fuzz()
