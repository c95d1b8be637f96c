"""`spec-graph` as a user runs it: a real process, real servers, the tiny profile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest


def test_ask_json_end_to_end(cli):
    proc = cli(
        "ask",
        "--profile",
        "tiny",
        "--json",
        "--temperature",
        "0",
        "--max-steps",
        "6",
        "What is 7 * 6?",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answer"]
    assert data["steps"]
    for step in data["steps"]:
        assert step["source"] in {"draft", "target"}
        assert "score" in step
        assert isinstance(step["tokens"], int)
        assert set(step["timings"]) == {"draft_s", "judge_s", "correct_s"}
    assert data["totals"]["steps"] == len(data["steps"])


def test_ask_live_view_shows_steps_answer_and_summary(cli):
    proc = cli(
        "ask", "--profile", "tiny", "--temperature", "0", "--max-steps", "4", "What is 2 + 3?"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Step 1" in proc.stdout
    assert "Answer:" in proc.stdout
    assert "acceptance" in proc.stdout
    # llama.cpp's own log stays out of the terminal
    assert "print_timing" not in proc.stdout + proc.stderr
    assert "load_model" not in proc.stdout + proc.stderr


def test_unreachable_server_is_one_line_exit_1_within_timeout(cli):
    started = time.monotonic()
    proc = cli(
        "ask",
        "--draft-url",
        "http://127.0.0.1:9/v1",
        "--target-url",
        "http://127.0.0.1:9/v1",
        "--timeout",
        "5",
        "q",
        timeout=60,
    )
    assert proc.returncode == 1
    assert "http://127.0.0.1:9/v1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert time.monotonic() - started < 40


def test_wrong_model_name_on_a_real_server_is_a_clear_error(tiny, cli):
    proc = cli(
        "ask",
        "--draft-url",
        tiny.draft.base_url,
        "--target-url",
        "http://127.0.0.1:9/v1",
        "q",
        timeout=60,
    )
    assert proc.returncode == 1
    assert "127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ctrl_c_stops_the_run_and_releases_the_servers():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spec_graph",
            "ask",
            "--profile",
            "tiny",
            "--max-steps",
            "200",
            "--token-budget",
            "8000",
            "--threshold",
            "9",
            "Count from 1 to 300, writing each number as its own step separated by blank lines.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Like a terminal's Ctrl-C even when this test runs in a background job (where the
        # shell starts children with SIGINT ignored, and Python then never raises
        # KeyboardInterrupt).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = proc.stdout.readline()  # the first step has landed: the run is in full swing
    assert first.startswith("Step 1"), first
    workers = [
        c
        for c in psutil.Process(proc.pid).children(recursive=True)
        if "_llama_worker" in " ".join(c.cmdline())
    ]
    assert workers, "no embedded server process"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, "a llama.cpp server outlived the CLI"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL semantics")
def test_killed_parent_does_not_leak_a_server(tmp_path):
    script = tmp_path / "hold.py"
    script.write_text(
        "import time\n"
        "from spec_graph import EmbeddedModels\n"
        "m = EmbeddedModels('tiny').start()\n"
        "print(m.draft.base_url, flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    workers = [c for c in psutil.Process(proc.pid).children(recursive=True)]
    assert workers
    proc.kill()
    proc.wait()
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive


def test_ask_json_shows_the_strategy_telemetry(cli):
    proc = cli(
        "ask", "--profile", "tiny", "--json", "--temperature", "0", "--max-steps", "4",
        "--strategy", "scot", "-o", "n=2", "-o", "max_chain_tokens=64", "What is 7 * 6?",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["strategy"] == "scot"
    telemetry = data["telemetry"]
    assert len(telemetry["drafts"]) == 2
    assert {"tokens", "seconds", "finish_reason"} <= set(telemetry["drafts"][0])
    assert {"selection", "chosen", "rethought"} <= set(telemetry)
    assert data["totals"]["judge_calls"] == 1


def test_ask_rejects_an_option_the_strategy_does_not_have(cli):
    proc = cli("ask", "--profile", "tiny", "--strategy", "scot", "-o", "k=2", "What is 1 + 1?")
    assert proc.returncode == 2
    assert "k" in proc.stderr
    assert "Traceback" not in proc.stderr
