"""A real uvicorn server on a free loopback port, serving scripted *fake* models.

Unit tests never reach the network; these may connect to 127.0.0.1 only (the server runs in
a thread of the test process, so the fakes' recorded calls can be checked directly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_socket import disable_socket, enable_socket, socket_allow_hosts
from serve_fakes import SPECREASON, Served, fake_models, running

from spec_graph import SpeculativeReasoner
from spec_graph.serve import ServeSettings, create_app


@pytest.fixture
def loopback(_no_network):
    """Sockets to 127.0.0.1 only, for the test's own server."""
    enable_socket()
    socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    yield
    disable_socket(allow_unix_socket=True)


@pytest.fixture
def serve(loopback) -> Iterator[Callable[..., Served]]:
    """``serve(draft, target, **settings)``: start a server; all are stopped after the test."""
    with_stack: list = []

    def start(draft=None, target=None, config=SPECREASON, **settings) -> Served:
        if draft is None or target is None:
            draft, target = fake_models()
        reasoner = SpeculativeReasoner(draft, target, config)
        context = running(create_app(reasoner, ServeSettings(**settings)))
        url = context.__enter__()
        with_stack.append(context)
        return Served(url, draft, target)

    yield start
    for context in reversed(with_stack):
        context.__exit__(None, None, None)
