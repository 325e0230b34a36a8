"""synthgen.corpus.readers: readers for JSONL, Parquet, text folders and saved datasets; rejects by reason."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.corpus.readers import (Document, Reject, count_records, detect_format, read_corpus,
                                     without_duplicate_ids)
from synthgen.errors import UserError
from synthgen.config.sources import CorpusConfig

EN = ("The farmers in the valley start the harvest early this year because the weather "
      "forecast warns of heavy rain and strong winds next week.")
DE = ("Die Bauern im Tal beginnen dieses Jahr früher mit der Ernte, weil der Wetterbericht "
      "für die nächste Woche vor starkem Regen und heftigem Wind warnt.")
EN2 = ("Most public libraries in the city now lend laptops and wireless hotspots to students "
       "who do not have reliable internet access at home.")


def _config(path: Path, **kwargs) -> CorpusConfig:
    return CorpusConfig(path=str(path), **kwargs)


def _read(path: Path, **kwargs) -> list[Document | Reject]:
    return list(read_corpus(_config(path, **kwargs), path))


def _write_jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, bytes) else orjson.dumps(row) for row in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _by_id(items) -> dict[str, Document | Reject]:
    out = {}
    for item in items:
        out[item.id if isinstance(item, Document) else item.source_id] = item
    return out


def _assert_reject(item, reason: str, source_id: str | None = None) -> None:
    assert isinstance(item, Reject), item
    assert item.step == "corpus"
    assert item.reason == reason, item
    if source_id is not None:
        assert item.source_id == source_id


# JSONL -----------------------------------------------------------------------------------

def test_jsonl_with_custom_columns(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [
        {"doc_id": "a", "body": EN, "lang": "en"},
        {"doc_id": 7, "body": "  " + DE + "\n", "lang": "de"},
        {"doc_id": "c", "body": EN2, "lang": "en", "text": "ignored", "id": "ignored", "language": "fr"},
    ])
    items = _read(path, id_column="doc_id", text_column="body", language_column="lang")
    assert items == [Document("a", EN, "en"), Document("7", DE, "de"), Document("c", EN2, "en")]


def test_missing_text_column(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "content": EN, "language": "en"},
                                               {"id": "b", "text": None, "language": "en"}])
    items = _read(path)
    _assert_reject(items[0], "no_text", "a")
    _assert_reject(items[1], "no_text", "b")


def test_non_string_text_is_no_text(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": 42, "language": "en"},
                                               {"id": "b", "text": ["x"], "language": "en"}])
    for item in _read(path):
        _assert_reject(item, "no_text")


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_empty_text(tmp_path, text):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": text, "language": "en"}])
    (item,) = _read(path)
    _assert_reject(item, "empty_text", "a")


@pytest.mark.parametrize("line", [b'{"id": "a", "text": ', b"not json at all", b'{"id": "a",}', b"[1, 2]",
                                  b'"a string"'])
def test_invalid_json_line(tmp_path, line):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "ok", "text": EN, "language": "en"}, line])
    items = _read(path)
    assert items[0] == Document("ok", EN, "en")
    _assert_reject(items[1], "invalid_json", "c:2")


def test_invalid_utf8_line(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [
        b"\xff\xfe",
        b'{"id": "b", "text": "caf\xff\xfe", "language": "en"}',
        {"id": "c", "text": EN, "language": "en"},
    ])
    items = _read(path)
    _assert_reject(items[0], "undecodable", "c:1")
    _assert_reject(items[1], "undecodable", "c:2")
    assert items[2] == Document("c", EN, "en")


def test_blank_lines_are_skipped_but_line_numbers_kept(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(orjson.dumps({"text": EN, "language": "en"}) + b"\n\n   \n"
                     + orjson.dumps({"text": EN2, "language": "en"}) + b"\n")
    items = _read(path)
    assert [d.id for d in items] == ["c:1", "c:4"]  # no id column: file stem and line number
    assert count_records(_config(path), path) == 2


def test_too_long_and_too_short(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [
        {"id": "long", "text": EN, "language": "en"},
        {"id": "short", "text": "Hi", "language": "en"},
        {"id": "fits", "text": "x" * 40, "language": "en"},
    ])
    items = _by_id(_read(path, max_chars=40, min_chars=3))
    _assert_reject(items["long"], "too_long")
    assert items["long"].detail["chars"] == len(EN)
    _assert_reject(items["short"], "too_short")
    assert isinstance(items["fits"], Document)


def test_length_is_measured_after_stripping(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": "   " + "y" * 10 + "   ", "language": "en"}])
    (item,) = _read(path, max_chars=10)
    assert item == Document("a", "y" * 10, "en")


def test_duplicate_ids(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [
        {"id": "a", "text": EN, "language": "en"},
        {"id": "b", "text": EN2, "language": "en"},
        {"id": "a", "text": DE, "language": "de"},
        {"id": "a", "text": EN2, "language": "en"},
    ])
    items = _read(path)
    assert items[:2] == [Document("a", EN, "en"), Document("b", EN2, "en")]
    _assert_reject(items[2], "duplicate_id", "a")
    _assert_reject(items[3], "duplicate_id", "a")


def test_duplicate_ids_across_several_streams_share_the_seen_ids():
    seen: set[str] = set()
    first = list(without_duplicate_ids([Document("a", EN, "en"), Reject("corpus", "too_short", "b")], seen))
    second = list(without_duplicate_ids([Document("a", DE, "de"), Document("b", EN2, "en")], seen))
    assert first == [Document("a", EN, "en"), Reject("corpus", "too_short", "b")]
    _assert_reject(second[0], "duplicate_id", "a")
    assert second[1] == Document("b", EN2, "en")  # a reject takes no id
    assert seen == {"a", "b"}


def test_language_is_detected_when_the_column_is_absent(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "en", "text": EN}, {"id": "de", "text": DE},
                                               {"id": "null", "text": DE, "language": None}])
    items = _by_id(_read(path))
    assert items["en"] == Document("en", EN, "en")
    assert items["de"] == Document("de", DE, "de")
    assert items["null"].language == "de"


def test_language_is_detected_when_no_column_is_configured(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "x", "text": DE, "language": "en"}])
    (item,) = _read(path, language_column="")
    assert item.language == "de"


@pytest.mark.parametrize("given, expected", [("en-US", "en"), ("EN", "en"), ("de_DE", "de"), (" fr ", "fr")])
def test_language_codes_are_normalized(tmp_path, given, expected):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "x", "text": EN, "language": given}])
    (item,) = _read(path)
    assert item == Document("x", EN, expected)


def test_unusable_language_value_falls_back_to_detection(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "x", "text": DE, "language": "german"},
                                               {"id": "y", "text": DE, "language": 3}])
    assert [d.language for d in _read(path)] == ["de", "de"]


def test_jsonl_count_records_matches(tmp_path):
    path = _write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "text": EN, "language": "en"}, b"broken",
                                               {"id": "a", "text": EN2, "language": "en"}, b"\xff"])
    items = _read(path)
    assert count_records(_config(path), path) == len(items) == 4


# Parquet ---------------------------------------------------------------------------------

def _parquet(path: Path, ids, texts, languages=None) -> Path:
    columns = {"id": ids, "text": texts}
    if languages is not None:
        columns["language"] = languages
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_file(tmp_path):
    path = _parquet(tmp_path / "c.parquet", ["a", "b", "c"], [EN, None, DE], ["en", "en", "de"])
    items = _read(path)
    assert items[0] == Document("a", EN, "en")
    _assert_reject(items[1], "no_text", "b")
    assert items[2] == Document("c", DE, "de")
    assert count_records(_config(path), path) == 3


def test_parquet_custom_columns_and_detected_language(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"key": [1, 2], "body": [EN, DE], "other": ["x", "y"]}), path)
    items = _read(path, id_column="key", text_column="body", language_column="lang")
    assert items == [Document("1", EN, "en"), Document("2", DE, "de")]


def test_parquet_without_id_column_uses_row_numbers(tmp_path):
    path = tmp_path / "part.parquet"
    pq.write_table(pa.table({"text": [EN, EN2], "language": ["en", "en"]}), path)
    assert [d.id for d in _read(path)] == ["part:1", "part:2"]


def test_parquet_folder_in_file_name_order(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    _parquet(folder / "b.parquet", ["b1", "b2"], [EN, EN2], ["en", "en"])
    _parquet(folder / "a.parquet", ["a1"], [DE], ["de"])
    (folder / "README.md").write_text("not a shard")
    assert detect_format(folder) == "parquet"
    items = _read(folder)
    assert [d.id for d in items] == ["a1", "b1", "b2"]
    assert count_records(_config(folder), folder) == 3


def test_parquet_large_file_reads_all_batches_in_order(tmp_path):
    n = 2500  # more than one 1024-row batch
    path = _parquet(tmp_path / "big.parquet", [f"d{i}" for i in range(n)], [f"{EN} {i}" for i in range(n)],
                    ["en"] * n)
    items = _read(path)
    assert [d.id for d in items] == [f"d{i}" for i in range(n)]
    assert count_records(_config(path), path) == n


@pytest.mark.parametrize("data", [b"", random.Random(1).randbytes(300),
                                  b"PAR1" + random.Random(2).randbytes(300) + b"PAR1"])
def test_corrupt_parquet_is_a_user_error(tmp_path, data):
    path = tmp_path / "bad.parquet"
    path.write_bytes(data)
    with pytest.raises(UserError, match="bad.parquet"):
        _read(path)
    with pytest.raises(UserError):
        count_records(_config(path), path)


def test_corrupt_parquet_in_a_folder_is_a_user_error(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    _parquet(folder / "a.parquet", ["a"], [EN], ["en"])
    (folder / "b.parquet").write_bytes(random.Random(3).randbytes(500))
    with pytest.raises(UserError, match="b.parquet"):
        _read(folder)


def test_parquet_with_invalid_utf8_text_is_handled(tmp_path):
    texts = pa.array([EN.encode(), b"\xff\xfe broken", EN2.encode()], pa.binary()).view(pa.string())
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": texts, "language": ["en"] * 3}), path)
    try:
        items = _by_id(_read(path))
    except UserError:
        return
    _assert_reject(items["b"], "undecodable", "b")
    assert items["a"] == Document("a", EN, "en")


# Text folders ----------------------------------------------------------------------------

def test_text_folder(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "z.txt").write_text(EN, encoding="utf-8")
    (folder / "sub" / "de.md").write_text(DE, encoding="utf-8")
    (folder / "a.txt").write_text("\n  " + EN2 + "  \n", encoding="utf-8")
    (folder / "blob.bin").write_bytes(b"\xff\xfe\x00\x01" + bytes(range(128, 256)))
    (folder / "empty.txt").write_text("   \n")
    (folder / ".hidden").write_text(EN)
    assert detect_format(folder) == "text_dir"
    items = _read(folder)
    ids = [i.id if isinstance(i, Document) else i.source_id for i in items]
    assert ids == ["a.txt", "blob.bin", "empty.txt", "sub/de.md", "z.txt"]
    by_id = _by_id(items)
    assert by_id["a.txt"] == Document("a.txt", EN2, "en")
    assert by_id["sub/de.md"] == Document("sub/de.md", DE, "de")
    assert by_id["z.txt"] == Document("z.txt", EN, "en")
    _assert_reject(by_id["blob.bin"], "undecodable")
    _assert_reject(by_id["empty.txt"], "empty_text")
    assert count_records(_config(folder), folder) == len(items) == 5


# Saved `datasets` datasets ---------------------------------------------------------------

def test_hf_dataset_saved_to_disk(tmp_path):
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_dict({"id": ["a", "b", "c"], "text": [EN, "", DE],
                                "language": ["en-GB", "en", None]}).save_to_disk(str(folder))
    assert detect_format(folder) == "hf_dataset"
    items = _read(folder)
    assert items[0] == Document("a", EN, "en")
    _assert_reject(items[1], "empty_text", "b")
    assert items[2] == Document("c", DE, "de")
    assert count_records(_config(folder), folder) == 3


def test_hf_dataset_dict_uses_the_train_split(tmp_path):
    import datasets

    folder = tmp_path / "dsd"
    datasets.DatasetDict({
        "test": datasets.Dataset.from_dict({"id": ["t"], "text": [EN2]}),
        "train": datasets.Dataset.from_dict({"id": ["x", "y"], "text": [EN, DE]}),
    }).save_to_disk(str(folder))
    assert detect_format(folder) == "hf_dataset"
    assert [d.id for d in _read(folder)] == ["x", "y"]
    assert count_records(_config(folder), folder) == 2


def test_hf_dataset_dict_without_train_split_counts_rows(tmp_path):
    import datasets

    folder = tmp_path / "dsd"
    datasets.DatasetDict({
        "validation": datasets.Dataset.from_dict({"id": ["a", "b", "c"], "text": [EN, EN2, DE]}),
    }).save_to_disk(str(folder))
    items = _read(folder)
    assert [i.id for i in items] == ["a", "b", "c"]  # read_corpus falls back to the first split
    assert count_records(_config(folder), folder) == len(items)


# Formats, errors, order ------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [("c.jsonl", "jsonl"), ("c.JSONL", "jsonl"), ("c.ndjson", "jsonl"),
                                            ("c.json", "jsonl"), ("c.parquet", "parquet")])
def test_detect_format_by_suffix(tmp_path, name, expected):
    assert detect_format(tmp_path / name) == expected


def test_detect_format_unknown_suffix_is_a_user_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,text\n")
    with pytest.raises(UserError, match="corpus.format"):
        detect_format(path)
    with pytest.raises(UserError):
        _read(path)


def test_explicit_format_overrides_the_suffix(tmp_path):
    path = _write_jsonl(tmp_path / "c.txt", [{"id": "a", "text": EN, "language": "en"}])
    assert _read(path, format="jsonl") == [Document("a", EN, "en")]
    assert count_records(_config(path, format="jsonl"), path) == 1


def test_missing_corpus_is_a_user_error(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(UserError, match="does not exist"):
        _read(path)
    with pytest.raises(UserError, match="does not exist"):
        count_records(_config(path), path)


def test_reader_order_is_stable(tmp_path):
    rows = [{"id": f"d{i:02d}", "text": f"{EN} Number {i}.", "language": "en"} for i in range(30)]
    random.Random(0).shuffle(rows)
    path = _write_jsonl(tmp_path / "c.jsonl", rows)
    first, second = _read(path), _read(path)
    assert first == second
    assert [d.id for d in first] == [r["id"] for r in rows]  # file order, not sorted


def test_reject_to_dict():
    reject = Reject("corpus", "too_long", "a", {"chars": 5})
    assert reject.to_dict() == {"step": "corpus", "reason": "too_long", "source_id": "a", "chars": 5}
