"""A bad server URL is one clear line at validation, never a traceback from the HTTP client."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from spec_graph import EndpointConfig
from spec_graph.cli import run


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:99999/v1", "invalid port '99999'"),
        ("http://127.0.0.1:abc/v1", "invalid port 'abc'"),
        ("http:///v1", "no host"),
        ("ftp://host/v1", "must start with http:// or https://"),
    ],
)
def test_bad_urls_are_rejected_with_the_reason(url, problem):
    with pytest.raises(ValidationError, match=problem):
        EndpointConfig(base_url=url, model="m")


@pytest.mark.parametrize("port", ["99999", "abc"])
def test_a_bad_port_flag_is_one_line_and_exit_2(port, capsys):
    # Defect (issue 16, item 8): these ports came back as tracebacks.
    assert run(["ask", "--target-url", f"http://127.0.0.1:{port}/v1", "q"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"error: invalid --target-url: base_url has an invalid port '{port}'")
    assert "Traceback" not in message


def test_a_good_url_keeps_working():
    assert EndpointConfig(base_url="https://gpu.example:8000/v1/", model="m").base_url == (
        "https://gpu.example:8000/v1"
    )
