"""The dataset card: YAML front matter the Hub and `datasets` read, the sections a reader
needs, and model output kept literal (never Markdown, HTML or template source)."""

from __future__ import annotations

import re

import datasets
import pytest
import yaml
from huggingface_hub import DatasetCard
from run_folders import HOSTILE_QUERY, mixed_rows, write_finished_run

from synthgen.publish.card import size_category
from synthgen.publish.hub import publish_run
from synthgen.publish.templates import code_block, md_cell
from synthgen.publish.report import PLOTS


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    write_finished_run(root / "run", mixed_rows())
    publish_run(root / "run", "my-org/unit-data", dry_run=root / "repo")
    return root / "repo"


def front_matter(folder) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "the card must start with YAML front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_is_yaml_with_the_hub_keys(published):
    meta = front_matter(published)
    assert meta["license"] == "apache-2.0"
    assert meta["language"] == ["de", "en", "fr"]  # python (a code language) is not a language tag
    assert meta["task_categories"] == ["sentence-similarity", "text-retrieval"]
    assert meta["size_categories"] == ["n<1K"]
    assert {"synthetic", "synthgen"} <= set(meta["tags"])
    assert DatasetCard.load(published / "README.md").data.license == "apache-2.0"


def test_configs_are_all_by_default_and_one_per_task(published):
    configs = {c["config_name"]: c for c in front_matter(published)["configs"]}
    assert list(configs) == ["all", "code_retrieval", "retrieval", "sts"]
    assert configs["all"]["default"] is True
    assert configs["sts"]["data_files"] == [{"split": "train", "path": "data/sts/train-*.parquet"}]


def test_every_config_loads_with_datasets(published, tmp_path):
    cache = str(tmp_path / "datasets-cache")  # this test's own: nothing read from an earlier load
    expected = {"all": 14, "retrieval": 7, "sts": 4, "code_retrieval": 3}
    for config in front_matter(published)["configs"]:
        rows = datasets.load_dataset(str(published), config["config_name"], split="train", cache_dir=cache)
        assert rows.num_rows == expected[config["config_name"]]
    assert datasets.load_dataset(str(published), split="train", cache_dir=cache).num_rows == 14  # no name: the default config


@pytest.mark.parametrize("heading", ["## Configs", "## How it was made", "### Quality gates", "### Prompt templates",
                                     "### Recipe", "## Counts", "## Plots", "## Examples", "## Usage",
                                     "## Limitations", "## License", "## Citation"])
def test_card_has_section(published, heading):
    assert f"\n{heading}\n" in (published / "README.md").read_text(encoding="utf-8")


def test_card_cites_qwen3_embedding_and_links_every_plot(published):
    text = (published / "README.md").read_text(encoding="utf-8")
    assert "arXiv:2506.05176" in text and "Qwen3 Embedding: Advancing Text Embedding and Reranking" in text
    for link in re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", text):
        assert (published / link).is_file()
    assert len(re.findall(r"!\[", text)) == len(PLOTS)


def test_card_counts_come_from_the_manifest(published):
    text = (published / "README.md").read_text(encoding="utf-8")
    assert "| gates/cosine/low\\_cosine | 9 |" in text
    assert "| fr | 4 | 4 |" in text
    assert "sts (min 0.5)" in text and "retrieval (min 0.7)" in text  # per-task thresholds


def test_model_output_stays_literal(published):
    text = (published / "README.md").read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in text and "49" not in text.split("## Examples")[1].split("## Usage")[0]
    body = text.split("### retrieval\n", 1)[1]
    fence = re.match(r"\s*(`{3,})json\n", body).group(1)
    assert len(fence) > 3  # longer than the ``` inside the row, so the row cannot close it
    block = body.split(fence + "json\n", 1)[1].split("\n" + fence, 1)[0]
    assert "<script>" in block  # inside the fence: shown, not run


def test_training_snippet_gives_anchor_positive_negatives_in_order(published):
    text = (published / "README.md").read_text(encoding="utf-8")
    snippet = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "MultipleNegativesRankingLoss" in b][0]
    data_part = "\n".join(line for line in snippet.split("model = ")[0].splitlines()
                          if not line.startswith("from sentence_transformers"))  # the data part only
    data_part = data_part.replace('"my-org/unit-data"', repr(str(published)))
    namespace: dict = {}
    exec(data_part, namespace)  # noqa: S102 - the card's own code, on the dry-run folder
    assert namespace["train"].column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert namespace["train"].num_rows == 7


def test_license_from_the_option(tmp_path):
    write_finished_run(tmp_path / "run", mixed_rows())
    publish_run(tmp_path / "run", "o/n", dry_run=tmp_path / "a", license_id="cc-by-4.0")
    assert front_matter(tmp_path / "a")["license"] == "cc-by-4.0"


def test_md_cell_escapes_table_breakers():
    assert md_cell("a | b\n<i>c</i>") == "a \\| b \\<i\\>c\\</i\\>"
    assert md_cell(HOSTILE_QUERY).count("\\|") == 1


def test_code_block_fence_outlasts_backticks_inside():
    block = code_block("x ```` y", "json")
    assert block.startswith("`````json\n") and block.endswith("\n`````")


@pytest.mark.parametrize("rows, label", [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (250_000, "100K<n<1M"),
                                         (12_000_000, "10M<n<100M")])
def test_size_category(rows, label):
    assert size_category(rows) == label
