"""The four notebooks, executed end to end on the simulated board; each checks its results in its last cell."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "sw" / "hilt" / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One folder for all four: the first writes the overlay (training LeNet-5), the others reuse it."""
    return tmp_path_factory.mktemp("notebooks")


def test_there_are_four_notebooks():
    assert [p.name[0] for p in NOTEBOOKS] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_checks_pass(path, workdir):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    first = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "running on the SIMULATED board" in first  # it says where it runs
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert last.strip().splitlines()[-1] == "ok"  # printed after every assert of the cell passed
    assert any(o.get("data", {}).get("image/png") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    nbformat.write(nb, workdir / path.name)  # the executed copy stays with the run's temporary files
