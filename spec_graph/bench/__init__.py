"""``spec-graph bench``: modes side by side on the same questions, servers and run.

- `datasets`: the question sets bundled in ``spec_graph/data/``, found by name
  (``--data gsm8k-dev``), or any JSONL path.
- `records`: one `QuestionRecord` per (question, mode), appended to a raw JSONL (resume).
- `runner`: runs the modes interleaved per question, or at several concurrency levels.
- `grading`: math-verify against the gold answer (needs the ``bench`` extra).
- `report`: summaries and the analytic bound per strategy (docs/bounds.md); re-exports the
  `projection` (GPU cost model) and `markdown` (results tables) names.
- `plots`: PNG plots (matplotlib, ``bench`` extra).

Only the light modules are imported here; `runner`, `grading` and `plots` load their optional
dependencies when imported.
"""

from spec_graph.bench.records import ModeSpec, QuestionRecord, read_records
from spec_graph.bench.report import (
    GPU_PRESETS,
    GpuCostModel,
    RunSummary,
    analytic_bound,
    markdown_table,
    project,
    summarize_run,
)

__all__ = [
    "GPU_PRESETS",
    "GpuCostModel",
    "ModeSpec",
    "QuestionRecord",
    "RunSummary",
    "analytic_bound",
    "markdown_table",
    "project",
    "read_records",
    "summarize_run",
]
