"""``spec-graph ask --thread/--resume`` (issue 16, item 2): a SIGKILLed run resumes from disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

ARGS = ("--profile", "tiny", "--strategy", "specreason", "--temperature", "0")
QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"
BUDGET = ("--max-steps", "4", "--token-budget", "160")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_ask_resumes_from_its_thread_with_the_steps_it_showed(tmp_path, cli):
    # COLUMNS: no wrapping, so the line after the step header is the start of its text
    env = {
        **os.environ,
        "SPEC_GRAPH_THREADS_DB": str(tmp_path / "threads.sqlite"),
        "COLUMNS": "1000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "spec_graph", "ask", *ARGS, *BUDGET, "--thread", "t1", QUESTION],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    header = proc.stdout.readline()
    assert header.startswith("Step 1"), header + (proc.stderr.read() if proc.stderr else "")
    first_line = proc.stdout.readline().strip()  # the first line of step 1's text
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    resumed = cli("ask", *ARGS, *BUDGET, "--resume", "t1", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    steps = json.loads(resumed.stdout)["steps"]
    shown_words, kept_words = first_line.split(), steps[0]["text"].split()
    assert kept_words[: len(shown_words)] == shown_words, (
        first_line,
        steps[0]["text"],
    )  # kept as shown
    assert len({s["text"] for s in steps}) == len(steps)  # none written twice
    # the thread's run is finished now: resuming again is a clear error, not a re-run
    again = cli("ask", *ARGS, "--resume", "t1", env=env)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "no unfinished run" in again.stderr
    assert "Traceback" not in again.stderr
