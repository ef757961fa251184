from typer.testing import CliRunner

from ratbehavior.cli import app
from tests.sessions import write_session

runner = CliRunner()


def test_help_lists_the_areas():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "data" in result.output


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    result = runner.invoke(app, ["data", "features", str(tmp_path), "--out", str(tmp_path / "f")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path}: no sessions/ folder: expected <root>/sessions/<session_id>/"
    ]


def test_bad_override_is_reported_as_such(tmp_path):
    write_session(tmp_path)
    result = runner.invoke(
        app, ["data", "features", str(tmp_path), "--out", str(tmp_path / "f"), "--set", "data.nope=1"]
    )
    assert result.exit_code == 2
    assert "data.nope: Extra inputs are not permitted" in result.output


def test_import_caltech_labels_to_a_labels_csv(tmp_path):
    source = tmp_path / "annot.txt"
    source.write_text(
        "Caltech Behavior Annotator - Annotation File\n\nS1:\tstart\tend\ttype\n---\n \t1\t3\tbase\n \t4\t6\twalk\n"
    )
    out = tmp_path / "labels.csv"
    result = runner.invoke(
        app, ["data", "import-labels", str(source), "--out", str(out), "--format", "caltech", "--video-fps", "25"]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("frame,walk,jump")
    # Video frames 4-6 at 25 fps are 0.12-0.24 s: grid frames 6-11.
    walking = [int(line.split(",")[0]) for line in lines[1:] if line.split(",")[1] == "1"]
    assert walking == list(range(6, 12))
