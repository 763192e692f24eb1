"""supplysim fit through click's CliRunner: the example history, bad files, overwriting."""

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from simulator.cli import cli
from simulator.data.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_fit_the_example_then_run_it(runner):
    res = runner.invoke(cli, ["fit", str(EXAMPLES / "sales.csv"), "--purchases",
                              str(EXAMPLES / "purchases.csv"), "--out", "my.yaml",
                              "--plot", "charts"])
    assert res.exit_code == 0, res.output
    scn = load_scenario("my.yaml")
    assert {s.id for s in scn.skus} >= {"VITC-60", "00417", "TEA-GREEN", "MUG-XL"}
    assert set(scn.suppliers) == {"overseas", "domestic", "default"}
    assert "VITC-60" in res.output and "Lead times" in res.output
    assert (Path("charts") / "lead-times.png").is_file()
    assert (Path("charts") / "sku-VITC-60.png").is_file()
    text = Path("my.yaml").read_text()
    assert "# " in text and "sales.csv" in scn.description
    run = runner.invoke(cli, ["run", "my.yaml", "-n", "2", "--out", "res", "--no-plots", "-q",
                              "-w", "1"])
    assert run.exit_code == 0, run.output
    assert Path("res/runs.parquet").is_file()


def test_existing_out_needs_force(runner, tmp_path):
    Path("my.yaml").write_text("keep me")
    args = ["fit", str(EXAMPLES / "sales.csv"), "--out", "my.yaml", "-q"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 2 and "--force" in res.output
    assert Path("my.yaml").read_text() == "keep me"
    res = runner.invoke(cli, [*args, "--force", "--lead-time", "10", "--lead-time-sd", "2"])
    assert res.exit_code == 0, res.output
    scn = load_scenario("my.yaml")
    assert scn.suppliers["default"].lead_time.mean == 10
    assert sorted(p.name for p in Path(".").iterdir()) == ["my.yaml"]  # no temporary left


@pytest.mark.parametrize("content, expect", [
    ("date,sku,qty\n2024-01-01,A,1\n2024-01-02,A,x\n", "row 3, column 'qty'"),
    ("date,sku,qty\n2024-01-01,A,1\nyesterday,A,1\n", "row 3, column 'date'"),
    ("when,sku,qty\n2024-01-01,A,1\n", "no date column"),
    ("date,sku,qty\n2024-01-01,A,1,9\n", "row 2"),
])
def test_bad_files_exit_2_with_one_line(runner, content, expect):
    Path("s.csv").write_text(content)
    res = runner.invoke(cli, ["fit", "s.csv", "--out", "o.yaml"], standalone_mode=True)
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert not Path("o.yaml").exists()


def test_missing_file_and_bad_column_option(runner):
    res = runner.invoke(cli, ["fit", "nope.csv", "--out", "o.yaml"])
    assert res.exit_code == 2 and "no such file" in res.output
    Path("s.csv").write_text("d,sku,qty\n2024-01-01,A,1\n")
    res = runner.invoke(cli, ["fit", "s.csv", "--out", "o.yaml", "--column", "date"])
    assert res.exit_code == 2 and "FIELD=NAME" in res.output
    res = runner.invoke(cli, ["fit", "s.csv", "--out", "o.yaml", "--column", "dat=d"])
    assert res.exit_code == 2 and "unknown field" in res.output
    res = runner.invoke(cli, ["fit", "s.csv", "--out", "o.yaml", "--column", "date=D2"])
    assert res.exit_code == 2 and "no such column" in res.output


def test_column_mapping_and_excel_without_openpyxl(runner):
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    pd.DataFrame({"Tag": days.strftime("%d.%m.%Y"), "Art": "A", "Stk": 2}).to_csv("s.csv", index=False)
    res = runner.invoke(cli, ["fit", "s.csv", "--out", "o.yaml", "-q", "--column", "date=Tag",
                              "--column", "sku=Art", "--column", "quantity=Stk"])
    assert res.exit_code == 0, res.output
    assert load_scenario("o.yaml").skus[0].demand.per_day.mean == 2
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        Path("s.xlsx").write_bytes(b"PK\x03\x04")
        res = runner.invoke(cli, ["fit", "s.xlsx", "--out", "x.yaml"])
        assert res.exit_code == 2 and "openpyxl" in res.output
