"""Settings from the environment take effect on a real ``spec-graph ask`` (tiny profile)."""

from __future__ import annotations

import json


def test_env_target_timeout_bounds_the_embedded_targets_requests(cli):
    # A 1 ms request timeout cannot be met: the run must fail on it, quickly and in one
    # line, which proves SPEC_GRAPH_TARGET__TIMEOUT_S reached the embedded target.
    args = ("ask", "--profile", "tiny", "--strategy", "target-only", "--max-steps", "2")
    proc = cli(*args, "What is 7 * 6?", env={"SPEC_GRAPH_TARGET__TIMEOUT_S": "0.001"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "timed out" in proc.stderr.lower()
    # The same command with a generous timeout from the env answers.
    proc = cli(*args, "--json", "What is 7 * 6?", env={"SPEC_GRAPH_TARGET__TIMEOUT_S": "120"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["steps"]
