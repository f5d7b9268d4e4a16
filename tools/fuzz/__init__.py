"""Coverage-guided fuzzing (atheris) of what reads untrusted bytes: the event decoders and the
page cleaner with the whole enrichment.

Each target module exposes a plain function (``check_event``, ``check_page``) that takes one
input's bytes and raises only on a real defect; atheris drives it when the module runs as a
script, and ``tests/unit/fuzz_regressions`` replays every crash ever found through the same
function, so the targets import and run without atheris.
"""
