"""`python_sandbox`: `run_python` as a LangChain tool, with a description that says the truth.

The model reads the description to decide what to write, so it states exactly what the
sandbox isolates (`spec_graph.tools.sandbox`), and that a host that cannot isolate refuses.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from spec_graph.tools.sandbox import run_python

__all__ = ["PythonSandboxInput", "python_sandbox"]


class PythonSandboxInput(BaseModel):
    """The sandbox's one argument."""

    code: str = Field(
        description="Python code to run; print what you need, or end with an expression."
    )


_DESCRIPTION = (
    "Run a short Python program (math, fractions, itertools; numpy and sympy when installed) "
    "and return what it prints; the value of a final expression is printed as well. "
    "It runs in an isolated, throwaway sandbox: no network, none of the host's files "
    "(only the Python installation, read-only), no environment variables of the host, "
    "no other processes and no new ones, no file writes; 5 seconds and 256 MB. "
    "If the host cannot isolate it, the call is refused."
)


@tool("python_sandbox", args_schema=PythonSandboxInput, description=_DESCRIPTION)
def _python_sandbox(code: str) -> str:
    """Run ``code`` with `run_python`'s defaults; the output and any error, as one text."""
    return run_python(code).text


python_sandbox: BaseTool = _python_sandbox
"""`run_python` as a LangChain tool (name ``python_sandbox``, one argument ``code``)."""
