"""The notebook is stored without outputs and runs top to bottom (nbclient)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "1.0-evidence-summary.ipynb"


@pytest.mark.notebook
def test_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has code cells"
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_executes(tmp_path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    text = "\n".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert "EvidenceBase('../studies.bib': 17 entries, 0 errors, 0 warnings)" in text
    assert "Response rate, anxiety outcomes: 86.8% (95% CI 63.2% to 96.2%)" in text
    assert "protocol: pyproject.toml [tool.evidence]" in text
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    ]
    # the forest plot, response over time, evidence map, traffic lights, summary of findings
    assert len(images) == 5
    assert "rate 86.8% (95% CI 63.2% to 96.2%)        very low  very low    ⊕◯◯◯" in text
    assert "C3      tully2022      unverifiable  overstated" in text
