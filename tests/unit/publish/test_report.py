"""The run report: every plot is a valid PNG, the HTML page embeds them all, and runs with
nothing to plot (no rows, no negatives, an older manifest) still get every file."""

from __future__ import annotations

import base64
import io
import re

import orjson
import pytest
from PIL import Image
from run_folders import RECIPE, mixed_rows, write_finished_run

from synthgen.errors import UserError
from synthgen.shards.finished_run import FinishedRun
from synthgen.publish.report import DPI, FIGURE_SIZE, PLOTS, RowStats, rejected_cosine_scores, write_report

SIZE = (int(FIGURE_SIZE[0] * DPI), int(FIGURE_SIZE[1] * DPI))


def check_report(run_dir) -> str:
    html_path = write_report(run_dir)
    assert html_path == run_dir / "report" / "index.html"
    for name in PLOTS:
        with Image.open(run_dir / "report" / name) as image:
            image.verify()
        with Image.open(run_dir / "report" / name) as image:
            assert image.format == "PNG" and image.size == SIZE
    return html_path.read_text(encoding="utf-8")


def test_report_writes_every_plot_and_embeds_them(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    html = check_report(tmp_path)
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(uris) == len(PLOTS)
    assert base64.b64decode(uris[0]) == (tmp_path / "report" / "tasks.png").read_bytes()
    assert "<script>" not in html  # nothing of the run is markup: the page escapes it
    escaped = "{{ 7*7 }} and &lt;script&gt;alert(1)&lt;/script&gt;"  # HOSTILE_QUERY, shown as text
    assert escaped in html and "question 1 about topic 1 for retrieval" in html


def test_report_of_a_run_that_kept_nothing(tmp_path):
    write_finished_run(tmp_path, [])
    html = check_report(tmp_path)
    assert "no rows" in html


def test_report_of_rows_without_negatives_or_scores(tmp_path):
    rows = [{**row, "negatives": [], "negative_scores": [], "positive_score": None} for row in mixed_rows()]
    write_finished_run(tmp_path, rows)
    check_report(tmp_path)
    stats = RowStats.read(FinishedRun.open(tmp_path))
    assert len(stats.pairs()) == 0 and all(len(v) == 0 for v in stats.scores().values())


def test_report_of_an_older_manifest_without_counts_by_or_stages(tmp_path):
    folder = write_finished_run(tmp_path, mixed_rows())
    manifest = orjson.loads(folder.manifest.read_bytes())
    for key in ("counts_by", "stages", "removals", "generator"):
        manifest.pop(key)
    folder.write_manifest(manifest)
    html = check_report(tmp_path)
    assert "no stage statistics" in html
    assert FinishedRun.open(tmp_path).counts("task") == {"code_retrieval": 3, "retrieval": 7, "sts": 4}


def test_scores_read_for_the_plots(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    run = FinishedRun.open(tmp_path)
    stats = RowStats.read(run)
    assert sorted(stats.words()) == ["code_retrieval", "retrieval", "sts"]
    assert len(stats.scores()["sts"]) == 3  # the row without a score is left out
    assert stats.pairs().shape == (13, 2)  # every row with a score and a negative (not the unscored sts row)
    assert len(rejected_cosine_scores(run)) == 9


def test_report_needs_a_finished_run(tmp_path):
    with pytest.raises(UserError, match=r"no manifest.json, not a finished run \(run `synthgen run RECIPE --out"):
        write_report(tmp_path)


def test_png_is_decodable(tmp_path):
    write_finished_run(tmp_path, mixed_rows())
    write_report(tmp_path)
    image = Image.open(io.BytesIO((tmp_path / "report" / "score_scatter.png").read_bytes())).convert("RGB")
    assert len(image.getcolors(maxcolors=1 << 20)) > 10  # something was drawn


def test_a_calibrated_cosine_gate_shows_its_pooled_threshold(tmp_path):
    """The default gate is `min_score = "calibrated"`: report and card read the threshold from
    the manifest's calibration instead of failing on the word."""
    recipe = {**RECIPE, "gates": {"cosine": {"min_score": "calibrated"}}}
    calibration = {"text": {"pooled": 0.3861, "thresholds": {"en": 0.4479}}, "code": {"pooled": 0.52}}
    write_finished_run(tmp_path / "run", mixed_rows(), recipe, calibration=calibration)
    run = FinishedRun.open(tmp_path / "run")
    assert run.min_cosine("retrieval") == 0.3861
    assert run.min_cosine("code_retrieval") == 0.52
    assert run.min_cosine("sts") == 0.5  # a task's own min_cosine still wins
    assert write_report(tmp_path / "run").is_file()  # the plot draws the pooled threshold (it raised before)
