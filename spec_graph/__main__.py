"""``python -m spec_graph`` runs the CLI."""

from spec_graph.cli import main

main()
