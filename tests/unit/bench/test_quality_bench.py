"""The quality benchmark's builder (bench/quality/build.py) and runner (bench/quality/__main__.py),
offline: apt lists written here (a `Packages` list, `Translation-en` and `Translation-de`, in
apt's file names), never the network."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # `bench` is a folder of the repository, not an installed package

from bench.quality import build as builder  # noqa: E402
from bench.quality.build import (  # noqa: E402
    Description,
    PackageInfo,
    Settings,
    format_long,
    parse_stanzas,
    read_packages,
    read_translation,
    reject_reason,
    split_description,
)

PREFIX = "deb.example.org_debian_dists_test_main"

PACKAGES_STANZA = """\
Package: tuxpaint
Version: 1:0.9.28-1
Installed-Size: 1432
Maintainer: Debian Tux4Kids Team <tux4kids-pkg-dev@lists.alioth.debian.org>
Architecture: amd64
Depends: libc6 (>= 2.34),
 libpng16-16 (>= 1.6.2-1)
Description: drawing program for young children
Homepage: https://tuxpaint.org/
Description-md5: 0123456789abcdef0123456789abcdef
Section: graphics
Priority: optional

Package: tuxpaint-data
Source: tuxpaint (1:0.9.28-1)
Version: 1:0.9.28-1
Architecture: all
Description: data files for Tux Paint
Description-md5: fedcba9876543210fedcba9876543210
Section: graphics
"""

TRANSLATION_DE_STANZA = """\
Package: tuxpaint
Description-md5: 0123456789abcdef0123456789abcdef
Description-de: Malprogramm für kleine Kinder
 Tux Paint ist ein freies Malprogramm für Kinder ab drei Jahren. Es hat
 eine einfache Oberfläche mit großen Knöpfen.
 .
 Funktionen:
  * Stempel, Pinsel und Linien
  * magische Werkzeuge, die
    das Bild verändern
 .
 Aufruf:
   tuxpaint --fullscreen
"""


# --------------------------------------------------------------------------------- parsers

def test_packages_stanza():
    infos = list(read_packages(PACKAGES_STANZA))
    assert [i.package for i in infos] == ["tuxpaint", "tuxpaint-data"]
    assert infos[0] == PackageInfo("tuxpaint", "tuxpaint", "graphics", "0123456789abcdef0123456789abcdef")
    assert infos[1].source == "tuxpaint"  # "Source: tuxpaint (version)" -> the name alone
    stanza = next(parse_stanzas(PACKAGES_STANZA))
    assert stanza["Depends"] == "libc6 (>= 2.34),\n libpng16-16 (>= 1.6.2-1)"
    assert stanza["Description"] == "drawing program for young children"


def test_translation_stanza_with_paragraphs_bullets_and_verbatim_lines():
    [entry] = read_translation(TRANSLATION_DE_STANZA, "de")
    assert (entry.package, entry.language, entry.md5) == ("tuxpaint", "de", "0123456789abcdef0123456789abcdef")
    assert entry.short == "Malprogramm für kleine Kinder"
    assert entry.long == ("Tux Paint ist ein freies Malprogramm für Kinder ab drei Jahren. Es hat eine einfache "
                          "Oberfläche mit großen Knöpfen.\n\n"
                          "Funktionen:\n- Stempel, Pinsel und Linien\n- magische Werkzeuge, die das Bild verändern\n\n"
                          "Aufruf:\ntuxpaint --fullscreen")
    assert list(read_translation(TRANSLATION_DE_STANZA, "fr")) == []  # no Description-fr


def test_format_long_edge_cases():
    assert format_long([]) == ""
    assert format_long([" .", " one", " two", " .", " ."]) == "one two"
    assert format_long([" 1. first", " 2) second", " - third"]) == "- first\n- second\n- third"
    assert split_description("  Short   text \n body line\n .\n next") == ("Short text", "body line\n\nnext")


def test_status_file_keeps_installed_packages_only():
    text = ("Package: a\nStatus: install ok installed\nSection: utils\nDescription: first tool\n long text\n\n"
            "Package: b\nStatus: deinstall ok config-files\nDescription: gone\n text\n")
    [(info, entry)] = builder.read_status(text)
    assert (info.package, info.section, entry.short, entry.long) == ("a", "utils", "first tool", "long text")


def test_compressed_lists(tmp_path):
    plain = tmp_path / f"{PREFIX}_i18n_Translation-de"
    plain.write_text(TRANSLATION_DE_STANZA)
    packed = tmp_path / f"{PREFIX}_i18n_Translation-de.gz"
    packed.write_bytes(gzip.compress(TRANSLATION_DE_STANZA.encode()))
    assert builder.read_list(packed) == builder.read_list(plain) == TRANSLATION_DE_STANZA
    (tmp_path / f"{PREFIX}_i18n_Translation-de_DE").write_text("")  # another language, not de
    assert builder.list_files(tmp_path, "Translation-de") == [plain, packed]
    if shutil.which("lz4"):
        subprocess.run(["lz4", "-q", str(plain), str(plain) + ".lz4"], check=True)
        assert builder.read_list(Path(str(plain) + ".lz4")) == TRANSLATION_DE_STANZA


# --------------------------------------------------------------------------------- filters

def _entry(short: str, long: str, package: str = "pkg", language: str = "en") -> Description:
    return Description(package, language, "md5", short, long)


LONG = " ".join(f"word{k}" for k in range(30))


@pytest.mark.parametrize(("entry", "info", "english", "reason"), [
    (_entry("tool for things", LONG, "pkg-dbg"), None, None, "debug_or_transitional"),
    (_entry("tool for things", LONG), PackageInfo("pkg", "pkg", "oldlibs", ""), None, "debug_or_transitional"),
    (_entry("debug symbols for foo", LONG), None, None, "boilerplate"),
    (_entry("tool for things", "This package contains the debugging symbols for foo. " + LONG), None, None,
     "boilerplate"),
    (_entry("transitional package for bar", LONG), None, None, "boilerplate"),
    (_entry("Übergangspaket für bar", LONG, language="de"), None,
     _entry("transitional dummy package for bar", LONG), "boilerplate"),  # seen in its English text
    (_entry("tool for things", "too few words here"), None, None, "too_short"),
    (_entry("tool for things", " ".join(["word"] * 300)), None, None, "too_long"),
    (_entry("tool", LONG), None, None, "short_query"),
    (_entry("Word3 word4, word5!", LONG), None, None, "query_in_document"),
    (_entry("Werkzeug für Dinge", LONG, language="de"), None, _entry("tool for things", LONG), "untranslated"),
    (_entry("tool for things", LONG), PackageInfo("pkg", "pkg", "utils", ""), None, None),
])
def test_reject_reasons(entry, info, english, reason):
    assert reject_reason(entry, info, english, Settings()) == reason


def _words(rng: random.Random, n: int) -> str:
    syllables = ["ka", "lo", "mi", "ner", "tu", "sa", "bri", "dol", "fen", "gu", "hap", "jo", "kes", "lum", "por",
                 "quin", "ras", "sel", "tov", "ul", "vex", "wim", "yar", "zed"]
    return " ".join("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n))


def write_lists(folder: Path, packages: int = 30, german: int = 12, seed: int = 0) -> None:
    """A Packages list, Translation-en and Translation-de (plain text, apt's file names) with
    distinct random-syllable descriptions, plus the traps the builder must avoid."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pkgs, en, de = [], [], []

    def add(name: str, source: str, short_en: str, long_en: str, short_de: str = "", long_de: str = "",
            section: str = "utils") -> None:
        md5 = hashlib.md5(f"{short_en}\n{long_en}".encode()).hexdigest()
        pkgs.append(f"Package: {name}\nSource: {source}\nVersion: 1.0-1\nArchitecture: amd64\n"
                    f"Description: {short_en}\nDescription-md5: {md5}\nSection: {section}\n")
        en.append(f"Package: {name}\nDescription-md5: {md5}\nDescription-en: {short_en}\n"
                  + "".join(f" {line}\n" if line else " .\n" for line in long_en.split("\n")))
        if short_de:
            de.append(f"Package: {name}\nDescription-md5: {md5}\nDescription-de: {short_de}\n"
                      + "".join(f" {line}\n" if line else " .\n" for line in long_de.split("\n")))

    texts = []
    for k in range(packages):
        texts.append(f"{_words(rng, 20)}\n\n{_words(rng, 20)}")
        add(f"pkg{k:02d}", f"src{k:02d}", f"tool {_words(rng, 3)}", texts[-1],
            *((f"Werkzeug {_words(rng, 3)}", f"{_words(rng, 20)}\n\n{_words(rng, 20)}") if k < german else ()))
    # Traps: a sibling of pkg00's source, a near-duplicate of pkg20 (English only), a debug package, a translation
    # whose md5 is not the current one, a transitional package.
    add("pkg00-doc", "src00", f"documentation {_words(rng, 3)}", f"{_words(rng, 40)}")
    add("pkg20-twin", "twin", f"twin tool {_words(rng, 3)}", texts[20] + " extra")
    add("pkg-dbg", "dbg", "debug symbols for pkg", _words(rng, 40), section="debug")
    add("transit", "transit", "transitional package for something", _words(rng, 40))
    de.append(f"Package: pkg20\nDescription-md5: {'9' * 32}\nDescription-de: veraltete Beschreibung\n {_words(rng, 40)}\n")
    (folder / f"{PREFIX}_binary-amd64_Packages").write_text("\n".join(pkgs))
    (folder / f"{PREFIX}_i18n_Translation-en").write_text("\n".join(en))
    (folder / f"{PREFIX}_i18n_Translation-de").write_text("\n".join(de))
    (folder / "deb.example.org_debian_dists_test_InRelease").write_text(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        "Origin: Debian\nSuite: test\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nMD5Sum:\n 0123 10 main/Date: no\n")
    # A daily suite (-security) is not read: its descriptions would change the set from day to day.
    (folder / "deb.example.org_debian-security_dists_test-security_main_i18n_Translation-en").write_text(
        f"Package: pkg00\nDescription-md5: {hashlib.md5(b'x').hexdigest()}\nDescription-en: patched\n {_words(rng, 40)}\n")


@pytest.fixture
def lists(tmp_path):
    folder = tmp_path / "lists"
    write_lists(folder)
    return folder


@pytest.fixture(autouse=True)
def no_lingua(monkeypatch):
    """The language check is lingua's (tested on its own below); here every text passes."""
    monkeypatch.setattr(builder, "language_detector", lambda languages: None)


def _build(out: Path, lists: Path, **settings) -> dict:
    options = {"languages": ("en", "de"), "docs_per_language": 5, "min_words": 25, **settings}
    return builder.build(out, Settings(**options), offline=True, system_lists=lists, status=lists / "no-status",
                         log=lambda line: None)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_build_writes_beir_and_the_generation_corpus(tmp_path, lists):
    out = tmp_path / "quality"
    info = _build(out, lists)
    bench = out / "benchmark"
    corpus, queries = _read(bench / "corpus.jsonl"), _read(bench / "queries.jsonl")
    qrels = (bench / "qrels" / "test.tsv").read_text().splitlines()
    assert qrels[0] == "query-id\tcorpus-id\tscore"
    assert len(corpus) == len(queries) == len(qrels) - 1 == 10
    assert all(set(d) == {"_id", "title", "text", "language"} and d["title"] == "" for d in corpus)
    assert all(set(q) == {"_id", "text", "language"} for q in queries)
    assert [d["language"] for d in corpus].count("de") == 5 and [q["language"] for q in queries].count("en") == 5
    relevant = {row.split("\t")[0]: row.split("\t")[1] for row in qrels[1:]}
    by_id = {d["_id"]: d for d in corpus}
    for query in queries:  # one relevant document per query, in the query's language
        assert by_id[relevant[query["_id"]]]["language"] == query["language"]
        assert all(row.split("\t")[2] == "1" for row in qrels[1:])
    generation = _read(out / "corpus.jsonl")
    assert [(d["id"], d["text"], d["language"]) for d in generation] == [(d["_id"], d["text"], d["language"])
                                                                          for d in corpus]
    assert all(set(d) == {"id", "text", "language"} for d in generation)
    query_texts = {q["text"] for q in queries}
    assert not any(q in d["text"] for d in generation for q in query_texts)  # the generator never sees a query
    assert info["counts"]["en"]["documents"] == info["counts"]["de"]["documents"] == 5
    assert info["counts"]["de"]["descriptions"] == 12  # the stale translation (wrong md5) is not read
    assert info["sources"]["de"][0]["release_date"] == "Sat, 11 Jul 2026 10:16:37 UTC"
    assert [source["file"] for source in info["sources"]["en"]] == [f"{PREFIX}_i18n_Translation-en"]  # no -security
    assert info["settings"]["seed"] == builder.DEFAULT_SEED and not info["english_only"]
    assert json.loads((out / "build.json").read_text())["counts"] == info["counts"]


def test_one_package_per_source_across_languages_and_no_traps(tmp_path, lists):
    info = _build(tmp_path / "q", lists, docs_per_language=50)
    corpus = _read(tmp_path / "q" / "benchmark" / "corpus.jsonl")
    packages = [d["_id"].split("-", 1)[1] for d in corpus]
    assert len(packages) == len(set(packages))  # no package in two languages
    assert not {"pkg-dbg", "transit"} & set(packages)
    assert not {"pkg00", "pkg00-doc"} <= set(packages)  # siblings of one source package
    assert not {"pkg20", "pkg20-twin"} <= set(packages)  # near-duplicate documents
    assert info["counts"]["de"]["short_by"] == 50 - info["counts"]["de"]["documents"]
    dropped = {reason for lang in info["counts"].values() for reason in lang["dropped"]}
    assert {"debug_or_transitional", "boilerplate", "same_source"} <= dropped
    assert dropped & {"near_duplicate_document", "same_source"}


BASE = " ".join(f"term{k}" for k in range(40))


@pytest.mark.parametrize(("second", "reason"), [
    (_entry("another short query", BASE + " plus", "b"), "near_duplicate_document"),
    (_entry("First short query, here!", " ".join(f"other{k}" for k in range(40)), "b"), "duplicate_query"),
    (_entry("first short query heres", " ".join(f"third{k}" for k in range(40)), "b"), "near_duplicate_query"),
    (_entry("quite another query", BASE, "b"), "duplicate_document"),
])
def test_duplicates_and_near_duplicates_are_dropped(second, reason):
    first = _entry("first short query here", BASE, "a")
    sources = builder.Sources(packages={}, valid_md5={}, files={}, notes=[],
                              descriptions={"en": {"a": first, "b": second}})
    pairs, counts = builder.select(sources, Settings(languages=("en",), docs_per_language=10))
    assert len(pairs) == 1 and counts["en"]["dropped"] == {reason: 1}


def test_a_package_gone_from_the_lists_changes_one_pick(tmp_path, lists):
    _build(tmp_path / "before", lists, languages=("en",), docs_per_language=8)
    before = [d["id"] for d in _read(tmp_path / "before" / "corpus.jsonl")]
    gone = before[3].removeprefix("en-")
    for name in (f"{PREFIX}_binary-amd64_Packages", f"{PREFIX}_i18n_Translation-en"):
        path = lists / name
        path.write_text("\n\n".join(s for s in path.read_text().split("\n\n") if f"Package: {gone}\n" not in s + "\n"))
    _build(tmp_path / "after", lists, languages=("en",), docs_per_language=8)
    after = [d["id"] for d in _read(tmp_path / "after" / "corpus.jsonl")]
    assert len(set(before) - set(after)) == 1 and len(set(after) - set(before)) == 1


def test_build_is_deterministic_and_depends_on_the_seed(tmp_path, lists):
    _build(tmp_path / "one", lists)
    _build(tmp_path / "two", lists)
    _build(tmp_path / "three", lists, seed=7)
    files = ["corpus.jsonl", "benchmark/corpus.jsonl", "benchmark/queries.jsonl", "benchmark/qrels/test.tsv"]
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert (tmp_path / "one" / "corpus.jsonl").read_bytes() != (tmp_path / "three" / "corpus.jsonl").read_bytes()


def test_same_settings_reuse_the_build_and_new_ones_rebuild(tmp_path, lists):
    out = tmp_path / "q"
    _build(out, lists)
    assert _build(out, lists).get("reused") is True
    info = _build(out, lists, docs_per_language=3)
    assert not info.get("reused") and len(_read(out / "corpus.jsonl")) == 6


def test_refuses_a_folder_it_did_not_write(tmp_path, lists):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(builder.BuildError, match="did not write"):
        _build(foreign, lists)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    run = tmp_path / "run"  # a synthgen run folder is not a benchmark folder either
    run.mkdir()
    (run / ".synthgen").write_text('{"kind": "run", "written_by": "synthgen"}')
    with pytest.raises(builder.BuildError):
        _build(run, lists)
    assert builder.main(["--out", str(foreign), "--offline"]) == 2


def test_english_only_without_translations(tmp_path, lists):
    german = lists / f"{PREFIX}_i18n_Translation-de"
    kept = german.read_text()
    german.unlink()
    info = _build(tmp_path / "q", lists)
    assert info["languages"] == ["en"] and info["english_only"]
    assert any("de left out" in note for note in info["notes"])
    assert _build(tmp_path / "q", lists).get("reused")  # offline: nothing better to be had
    german.write_text(kept)  # the translations are back: an English-only build is not kept
    info = builder.build(tmp_path / "q", Settings(languages=("en", "de"), docs_per_language=5),
                         system_lists=lists, status=lists / "no-status", log=lambda line: None)
    assert not info.get("reused") and info["languages"] == ["en", "de"]


def test_english_from_dpkg_status_when_no_list_has_it(tmp_path):
    status = tmp_path / "status"
    rng = random.Random(1)
    status.write_text("\n".join(f"Package: p{k}\nStatus: install ok installed\nDescription: tool {_words(rng, 3)}\n"
                                f" {_words(rng, 35)}\n" for k in range(8)))
    info = builder.build(tmp_path / "q", Settings(languages=("en", "de"), docs_per_language=5), offline=True,
                         system_lists=tmp_path / "nothing", status=status, log=lambda line: None)
    assert info["languages"] == ["en"] and info["counts"]["en"]["documents"] == 5
    assert any("installed packages" in note for note in info["notes"])


def test_language_check_drops_untranslated_text(monkeypatch):
    monkeypatch.undo()  # the real lingua detector, limited to the benchmark's languages
    detect = builder.language_detector(["en", "de"])
    english = "This program lets you draw pictures with many colours and brushes, and save them as files."
    german = "Dieses Programm lässt Sie Bilder mit vielen Farben und Pinseln malen und als Dateien speichern."
    assert detect(english) == "en" and detect(german) == "de"
    assert builder.language_detector(["en"]) is None
    sources = builder.Sources(packages={}, valid_md5={}, files={}, notes=[], descriptions={
        "de": {"a": _entry("Malprogramm für Kinder", english + " " + english, "a", "de"),
               "b": _entry("Malprogramm für Erwachsene", german + " " + german, "b", "de")}})
    pairs, counts = builder.select(sources, Settings(languages=("de",), docs_per_language=5, min_words=10), detect)
    assert [p.package for p in pairs] == ["b"] and counts["de"]["dropped"] == {"wrong_language": 1}


# --------------------------------------------------------------------------------- fetching

def _fake_apt_get(folder: Path, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "apt-get"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_fetch_failure_is_one_line_and_the_system_lists_are_untouched(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    _fake_apt_get(bin_dir, 'echo "Reading package lists..."\n'
                           'echo "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  '
                           'Could not connect to deb.debian.org" >&2\nexit 0\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    result = builder.fetch_translations(tmp_path / "cache", ["en", "de"])
    assert not result.ok and "\n" not in result.message
    assert result.message.startswith("no Translation-en/de came (W: Failed to fetch")
    conf = (tmp_path / "cache" / "apt.conf").read_text()
    assert f'Dir::State::Lists "{(tmp_path / "cache" / "lists").resolve()}/"' in conf
    assert "#clear APT::Update::Post-Invoke-Success;" in conf and 'Dir::Cache::pkgcache "";' in conf
    assert f"Dir::State::Lists={(tmp_path / 'cache' / 'lists').resolve()}/" in result.command
    assert "Acquire::Languages=en,de" in result.command


def test_fetch_success_and_build_uses_the_fetched_lists(tmp_path, monkeypatch, lists):
    bin_dir = tmp_path / "bin"
    # A stand-in for apt-get that "downloads" the test lists into Dir::State::Lists.
    _fake_apt_get(bin_dir, f'for a in "$@"; do case "$a" in Dir::State::Lists=*) dir="${{a#*=}}";; esac; done\n'
                           f'cp {lists}/* "$dir"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = tmp_path / "q"
    info = builder.build(out, Settings(languages=("en", "de"), docs_per_language=4), system_lists=tmp_path / "none",
                         status=tmp_path / "none", log=lambda line: None)
    assert info["fetch"]["ok"] and info["languages"] == ["en", "de"]
    assert info["sources"]["de"][0]["folder"] == str(out / "apt" / "lists")
    assert builder.fetch_translations(tmp_path / "c2", ["en"]).ok
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert builder.fetch_translations(tmp_path / "c3", ["en"]).message == "apt-get is not installed here"


# --------------------------------------------------------------------------------- make quality

def _fake_synthgen(folder: Path, has_eval: bool) -> Path:
    """A stand-in `synthgen`: `run ... --out DIR` marks DIR as a run and writes a manifest;
    `eval` exists or not."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthgen"
    path.write_text(f"""#!{sys.executable}
import json, sys
from pathlib import Path
args = sys.argv[1:]
log = Path({str(folder / "calls.jsonl")!r})
with log.open("a") as handle:
    handle.write(json.dumps(args) + "\\n")
if args[0] == "eval":
    if not {has_eval!r}:
        print("No such command 'eval'.", file=sys.stderr)
        sys.exit(2)
    if "--help" in args:
        sys.exit(0)
    print("[     1 s] training")
    print("Computing widget examples: 0%|  | 0/1\\r                \\r[     2 s] scoring")
    print("Computing widget examples: 0%|  | 0/1\\r                \\rmodel    rows  nDCG@10")
    print("base        0    0.500")
    sys.exit(0)
out = Path(args[args.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
(out / ".synthgen").write_text(json.dumps({{"kind": "run", "written_by": "synthgen"}}))
(out / "manifest.json").write_text(json.dumps({{"counts": {{"generated_rows": 9, "rows": 4}}}}))
""")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _quality(tmp_path, lists, monkeypatch, has_eval: bool, *extra: str) -> tuple[int, list[list[str]]]:
    from bench.quality import __main__ as runner

    fake = _fake_synthgen(tmp_path / "fake", has_eval)
    (tmp_path / "fake" / "calls.jsonl").unlink(missing_ok=True)
    monkeypatch.setattr(runner, "synthgen_command", lambda: [str(fake)])
    monkeypatch.setattr(builder, "SYSTEM_LISTS", lists)
    monkeypatch.setattr(builder, "DPKG_STATUS", tmp_path / "no-status")
    monkeypatch.setattr("bench.machine.detect_gpus", lambda: [])
    status = runner.main(["--out", str(tmp_path / "quality"), "--languages", "en,de", "--docs-per-language", "3",
                          "--offline", *extra])
    calls = [json.loads(line) for line in (tmp_path / "fake" / "calls.jsonl").read_text().splitlines()]
    return status, calls


def test_make_quality_steps_without_eval(tmp_path, lists, monkeypatch, capsys):
    status, calls = _quality(tmp_path, lists, monkeypatch, False)
    assert status == 0
    runs = [c for c in calls if c[0] == "run"]
    assert len(runs) == 1 and "--overwrite" not in runs[0]  # a new folder: nothing to overwrite
    assert f"queries_per_document=2" in runs[0] and runs[0][runs[0].index("--out") + 1].endswith("quality/run")
    report = json.loads((tmp_path / "quality" / "quality.json").read_text())
    assert report["eval"]["status"] == "unavailable" and set(report["steps"]) == {"build", "generate"}
    assert report["generation"]["counts"] == {"generated_rows": 9, "rows": 4}
    assert "no eval" in capsys.readouterr().out

    status, calls = _quality(tmp_path, lists, monkeypatch, False)  # same settings: the run is kept
    assert status == 0 and not [c for c in calls if c[0] == "run"]
    status, calls = _quality(tmp_path, lists, monkeypatch, False, "--queries-per-document", "1")
    runs = [c for c in calls if c[0] == "run"]
    assert len(runs) == 1 and "--overwrite" in runs[0]  # synthgen's own run folder, other settings


def test_a_changed_prompt_template_persona_library_or_module_is_a_new_generation(tmp_path, monkeypatch):
    from bench.quality import __main__ as runner

    for folder, name in (("prompts", "retrieval/query.j2"), ("personas", "core.jsonl"), ("synthgen", "run/a.py")):
        (tmp_path / folder / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_text("v1")
    (tmp_path / "recipe.toml").write_text("name = 'q'")
    (tmp_path / "corpus.jsonl").write_text("{}")
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    args = runner.argparse.Namespace(recipe=tmp_path / "recipe.toml", queries_per_document=2, overrides=[])
    first = runner.generation_stamp(args, tmp_path / "corpus.jsonl")
    assert runner.generation_stamp(args, tmp_path / "corpus.jsonl") == first
    for folder, name in (("prompts", "retrieval/query.j2"), ("personas", "core.jsonl"), ("synthgen", "run/a.py")):
        (tmp_path / folder / name).write_text("v2")
        changed = runner.generation_stamp(args, tmp_path / "corpus.jsonl")
        assert changed != first and changed[f"{folder}_sha256"] != first[f"{folder}_sha256"], folder
        first = changed


def test_make_quality_runs_the_eval_cli(tmp_path, lists, monkeypatch, capsys):
    status, calls = _quality(tmp_path, lists, monkeypatch, True, "--epochs", "2")
    assert status == 0
    [evaluation] = [c for c in calls if c[0] == "eval" and "--help" not in c]
    assert evaluation[2:] == ["--benchmark", str(tmp_path / "quality" / "benchmark"), "--epochs", "2"]
    out = capsys.readouterr().out
    assert "base        0    0.500" in out and "| generate |" in out
    summary = out[out.index("eval took"):]  # after the streamed output: the table again, without progress bars
    assert "\n\nmodel    rows  nDCG@10\nbase        0    0.500\n\n" in summary and "Computing" not in summary
    report = json.loads((tmp_path / "quality" / "quality.json").read_text())
    assert report["eval"]["status"] == "done" and set(report["steps"]) == {"build", "generate", "eval"}


def test_make_quality_leaves_a_foreign_run_folder_alone(tmp_path, lists, monkeypatch):
    run = tmp_path / "quality" / "run"
    _build(tmp_path / "quality", lists, docs_per_language=3)
    run.mkdir()
    (run / "mine.txt").write_text("keep")
    status, calls = _quality(tmp_path, lists, monkeypatch, True)
    assert status == 2 and not [c for c in calls if c[0] == "run"]
    assert [p.name for p in run.iterdir()] == ["mine.txt"]
