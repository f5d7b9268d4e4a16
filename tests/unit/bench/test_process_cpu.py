"""CPU time of a process tree: a server whose work happens in a child process (Elasticsearch's
launcher and its JVM) must be charged for the child's CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))

from process_cpu import cpu_seconds  # noqa: E402

BUSY_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time\\nend = time.process_time() + 0.6\\n"
                          "while time.process_time() < end: pass\\nprint('done', flush=True)\\n"
                          "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print("ready", flush=True)
time.sleep(30)
"""


def test_a_parent_is_charged_for_the_cpu_of_its_children() -> None:
    parent = subprocess.Popen([sys.executable, "-c", BUSY_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        tree = cpu_seconds(parent.pid)
        assert tree is not None and tree >= 0.6  # the grandchild's busy loop is counted
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()


def test_a_process_that_is_gone_has_no_cpu_time() -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    assert cpu_seconds(None) is None
    assert cpu_seconds(2**22 + 12345) is None  # above the kernel's pid range
