"""The ``spec-graph`` command: ``ask`` a question, ``serve`` an API, ``bench``, ``tune``, ``models``.

Errors are one line on stderr with a non-zero exit (1 at run time, 2 for usage), never a
traceback; progress and the live view go to stderr/stdout so ``--json`` output stays clean.
One module per command, options beside the body (`ask`, `bench`, `tune`); what the commands
share is in `spec_graph.cli.options` (flags -> configs and servers) and
`spec_graph.cli.display` (rich output). This module only builds the app and runs it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from spec_graph._version import __version__
from spec_graph.cli import signals
from spec_graph.cli.ask import ask, models
from spec_graph.cli.bench import bench
from spec_graph.cli.display import AmountColumn, DownloadProgress, err, shown
from spec_graph.cli.help_format import PlainHelpCommand, PlainHelpGroup
from spec_graph.cli.serve import serve
from spec_graph.cli.tune import tune
from spec_graph.errors import SpecGraphError, UserError

__all__ = ["AmountColumn", "DownloadProgress", "app", "main", "run"]

app = typer.Typer(
    name="spec-graph",
    cls=PlainHelpGroup,
    help="Speculative reasoning: a small draft model writes steps, a large target judges them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"spec-graph {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Show the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Speculative reasoning: a small draft model writes steps, a large target judges them."""


app.command(cls=PlainHelpCommand)(ask)
app.command(cls=PlainHelpCommand)(serve)
app.command(cls=PlainHelpCommand)(bench)
app.command(cls=PlainHelpCommand)(tune)
app.command(cls=PlainHelpCommand)(models)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (testable; no ``sys.exit``)."""
    try:
        code = app(args=argv, prog_name="spec-graph", standalone_mode=False)
    except UserError as e:
        err.print(f"[red]error:[/] {shown(str(e))}")
        return 2
    except SpecGraphError as e:
        err.print(f"[red]error:[/] {shown(str(e))}")
        return 1
    except KeyboardInterrupt:
        return signals.interrupted()
    except (typer.Exit, typer.Abort) as e:
        if isinstance(e, typer.Abort):  # click turns KeyboardInterrupt into Abort
            return signals.interrupted()
        return int(getattr(e, "exit_code", 0))
    except Exception as e:
        # Usage errors (click's, vendored by recent typer): duck-typed to work on both.
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            e.show()  # type: ignore[attr-defined]
            return int(e.exit_code)  # type: ignore[attr-defined]
        raise
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point (SIGTERM stops the command cleanly, like Ctrl-C)."""
    signals.install()
    sys.exit(run())
