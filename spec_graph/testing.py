"""Test helpers: the scripted *fake* model backend, for unit tests of graph logic.

`ScriptedFakeBackend` lives in `spec_graph.backends.fake`; it is re-exported here, where tests
and notebooks have always imported it from.
"""

from spec_graph.backends.fake import FakeCall, ScriptedFakeBackend

__all__ = ["FakeCall", "ScriptedFakeBackend"]
