"""Build the quality benchmark: a labeled multilingual retrieval set from Debian's package
descriptions, real text nobody on this project wrote.

    python -m bench.quality.build --out outputs/quality [--docs-per-language 100] [--seed N]

Each Debian package has a short description (one line) and a long one (paragraphs), written
by its maintainers in English and translated by Debian's translation teams (DDTP). For every
language the short description is the query and the long description the one relevant
document. Sources: apt's lists. English long descriptions live in `Translation-en` (the
`Packages` lists carry only the short description and its `Description-md5` since Debian 6),
the others in `Translation-de`, `-fr`, `-es`; the `Packages` lists give each package's source
package, section and current `Description-md5`. Translations are fetched by apt into a private
folder (`OUT/apt/lists`, never the system's lists): `apt-get update` with `Dir::State::Lists`
pointed there, the update hooks cleared, no package cache written (`fetch_translations`). If the
Debian registry cannot be reached, the builder says so in one line and uses what the machine
has: `Translation-*` files in the system's lists, else the English descriptions of the installed
packages (`/var/lib/dpkg/status`); the set is then English-only and `build.json` says so.

Filters (each drop counted by reason in `build.json`): debugging-symbol, transitional, dummy
and metapackages; long descriptions under `--min-words` (25) or over `--max-words` (250)
words; short descriptions under 3 words; a query contained verbatim in its document; a
translation identical to the English text. Then, in a seeded order (a hash of seed, language
and package name: a package added to or gone from the lists moves no other), a document is
taken only if its source package was not used yet (in any language: sibling -dev/-doc/lib
packages share their text), its normalized text and query are new, it is no near-duplicate of
a taken document (character 5-gram Jaccard >= 0.5) nor its query of a taken query (3-gram
Jaccard >= 0.8), and a detector limited to the benchmark's languages finds it in its own
language. So qrels stay unambiguous: one relevant document per query, and no document that
answers another's query. Only release suites are read (bookworm, not bookworm-updates or
-security, which change daily): the set changes with point releases, not from day to day.

Writes into `--out` only (refusing a non-empty folder it did not mark as its own):
`benchmark/` (BEIR: corpus.jsonl, queries.jsonl, qrels/test.tsv), `corpus.jsonl` (the same
documents as a synthgen corpus: id, text, language; never the queries), `build.json` (settings,
counts per language and per drop reason, source files with their dates and SHA-256) and
`apt/` (the private apt lists). The same lists and settings give byte-identical files.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

LANGUAGES = ("en", "de", "fr", "es")
DEFAULT_SEED = 20261202
DEFAULT_DOCS_PER_LANGUAGE = 100
BUILDER_VERSION = 1
MARKER = ".synthgen"
KIND = "quality-benchmark"
SYSTEM_LISTS = Path("/var/lib/apt/lists")
DPKG_STATUS = Path("/var/lib/dpkg/status")
FETCH_TIMEOUT_S = 300

_COMPRESSED = r"(?:\.(?:lz4|gz|xz|bz2|zst))?"
_BULLET = re.compile(r"^(?:[*+o\u2022-]|\d{1,2}[.)])\s+")
_BOILERPLATE = re.compile(
    r"debug(?:ging)? symbols|transitional (?:dummy )?package|dummy (?:transitional )?package"
    r"|can (?:be )?safely (?:be )?removed|\bempty package|meta-?package|virtual package", re.IGNORECASE)
_SKIPPED_SECTIONS = ("debug", "oldlibs")
_VOLATILE_SUITE = re.compile(r"_dists_[^_]+-(?:updates|security|backports|proposed)_")


class BuildError(Exception):
    """A one-line message for the user: what is wrong and what to do."""


# ------------------------------------------------------------------------------------ parsing

def parse_stanzas(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of an apt list (deb822): {field: value}; a multi-line value keeps its
    continuation lines as written (leading space included), joined by newlines."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line
        else:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip()
                fields[key] = value.strip()
    if fields:
        yield fields


def split_description(value: str) -> tuple[str, str]:
    """A Debian description field -> (short description, long description as plain text)."""
    first, _, rest = value.partition("\n")
    return " ".join(first.split()), format_long(rest.split("\n") if rest else [])


def format_long(lines: list[str]) -> str:
    """Debian's long-description markup -> plain text. Each line starts with one space; " ."
    separates paragraphs (they come out separated by a blank line); lines of a paragraph are
    joined into one; bullets ("*", "-", "+", "o", "1.") become "- " items on their own line;
    lines indented further (verbatim in Debian's rules) continue the item before them, else
    stand on their own line."""
    paragraphs: list[str] = []
    parts: list[list[str]] = []  # [kind, text], kind: text, item, verbatim

    def flush() -> None:
        if parts:
            paragraphs.append("\n".join(("- " + text) if kind == "item" else text for kind, text in parts))
            parts.clear()

    for raw in lines:
        line = raw[1:] if raw[:1] in (" ", "\t") else raw
        body = " ".join(line.split())
        if not body or body == ".":
            flush()
            continue
        indented = line[:1] in (" ", "\t")
        bullet = _BULLET.match(body)
        if bullet and body[bullet.end():]:
            parts.append(["item", body[bullet.end():]])
        elif indented and parts and parts[-1][0] == "item":
            parts[-1][1] += " " + body
        elif indented:
            parts.append(["verbatim", body])
        elif parts and parts[-1][0] != "verbatim":
            parts[-1][1] += " " + body
        else:
            parts.append(["text", body])
    flush()
    return "\n\n".join(paragraphs)


@dataclass(frozen=True)
class PackageInfo:
    """What a `Packages` list says of a binary package."""

    package: str
    source: str
    section: str
    md5: str


@dataclass(frozen=True)
class Description:
    """One package's description in one language: the query and the document."""

    package: str
    language: str
    md5: str
    short: str
    long: str


def read_packages(text: str) -> Iterator[PackageInfo]:
    """The packages of a `Packages` list (or dpkg's status file)."""
    for stanza in parse_stanzas(text):
        package = stanza.get("Package", "").strip()
        if not package:
            continue
        source = (stanza.get("Source") or package).split()[0]
        yield PackageInfo(package, source, stanza.get("Section", "").strip(), stanza.get("Description-md5", "").strip())


def read_translation(text: str, language: str) -> Iterator[Description]:
    """The descriptions of a `Translation-<language>` list: Package, Description-md5 and
    Description-<language> (short description, then the long one)."""
    name = f"Description-{language}"
    for stanza in parse_stanzas(text):
        if "Package" in stanza and name in stanza:
            short, long = split_description(stanza[name])
            yield Description(stanza["Package"].strip(), language, stanza.get("Description-md5", "").strip(), short, long)


def read_status(text: str) -> Iterator[tuple[PackageInfo, Description]]:
    """English descriptions of the installed packages in dpkg's status file (offline fallback)."""
    for stanza in parse_stanzas(text):
        package = stanza.get("Package", "").strip()
        if not package or "Description" not in stanza or not stanza.get("Status", "").endswith(" installed"):
            continue
        short, long = split_description(stanza["Description"])
        info = PackageInfo(package, (stanza.get("Source") or package).split()[0], stanza.get("Section", "").strip(), "")
        yield info, Description(package, "en", "", short, long)


def read_list(path: Path) -> str:
    """An apt list file as text, whatever apt compressed it with (lz4: the `lz4` Python package
    when installed, else the `lz4` command, else apt's own `apt-helper cat-file`)."""
    suffix = path.suffix
    if suffix == ".gz":
        data = gzip.decompress(path.read_bytes())
    elif suffix == ".xz":
        data = lzma.decompress(path.read_bytes())
    elif suffix == ".bz2":
        data = bz2.decompress(path.read_bytes())
    elif suffix in (".lz4", ".zst"):
        data = _decompress_with_tools(path)
    else:
        data = path.read_bytes()
    return data.decode("utf-8", errors="replace")


def _decompress_with_tools(path: Path) -> bytes:
    if path.suffix == ".lz4":
        try:
            import lz4.frame  # type: ignore[import-not-found]

            return lz4.frame.decompress(path.read_bytes())
        except ImportError:
            pass
    tool = "lz4" if path.suffix == ".lz4" else "zstd"
    commands = []
    if shutil.which(tool):
        commands.append([tool, "-dc", str(path)])
    helper = Path("/usr/lib/apt/apt-helper")
    if helper.is_file():
        commands.append([str(helper), "cat-file", str(path)])
    for command in commands:
        done = subprocess.run(command, capture_output=True)
        if done.returncode == 0:
            return done.stdout
    raise BuildError(f"cannot decompress {path}: neither the `{tool}` command nor apt's apt-helper is available")


# ------------------------------------------------------------------------------------ sources

def list_files(folder: Path, kind: str) -> list[Path]:
    """apt list files of `kind` ("Packages" or "Translation-de") in `folder`, sorted by name,
    from release suites only: a point release changes them every few months, while the
    -updates, -security, -backports and -proposed suites change every day (and carry no
    translations but English)."""
    if not folder.is_dir():
        return []
    if kind == "Packages":
        pattern = re.compile(rf"_binary-[^_]+_Packages{_COMPRESSED}$")
    else:
        pattern = re.compile(rf"_i18n_{re.escape(kind)}{_COMPRESSED}$")  # not Translation-de_DE
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and pattern.search(p.name) and not _VOLATILE_SUITE.search(p.name))


def release_date(path: Path) -> str:
    """The `Date:` of the Release file a list came with ("" when there is none)."""
    match = re.match(r"(.*_dists_[^_]+)_", path.name)
    if match:
        for name in (f"{match.group(1)}_InRelease", f"{match.group(1)}_Release"):
            release = path.parent / name
            if release.is_file():
                for line in release.read_text(errors="replace").splitlines():  # after InRelease's PGP header
                    if line.startswith("Date:"):
                        return line.partition(":")[2].strip()
    return ""


def describe_source(path: Path) -> dict:
    data = path.read_bytes()
    return {"file": path.name, "folder": str(path.parent), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "release_date": release_date(path)}


@dataclass
class FetchResult:
    ok: bool
    message: str
    seconds: float
    command: list[str]


def apt_config(lists: Path) -> str:
    """The private apt configuration: our lists folder, no package cache (apt would write the
    system's /var/cache/apt/pkgcache.bin), and none of the system's update hooks."""
    return (f'Dir::State::Lists "{lists}/";\n'
            'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
            "#clear Acquire::Languages;\n"
            "#clear APT::Update::Pre-Invoke;\n#clear APT::Update::Post-Invoke;\n"
            "#clear APT::Update::Post-Invoke-Success;\n")


def fetch_command(cache: Path, languages: Iterable[str]) -> list[str]:
    lists = (cache / "lists").resolve()
    return ["apt-get", "-c", str((cache / "apt.conf").resolve()), "-q", "update",
            "-o", f"Acquire::Languages={','.join(languages)}", "-o", f"Dir::State::Lists={lists}/",
            "-o", "Acquire::Retries=0", "-o", "Acquire::http::Timeout=30", "-o", "Acquire::https::Timeout=30"]


def fetch_translations(cache: Path, languages: list[str], timeout: float = FETCH_TIMEOUT_S) -> FetchResult:
    """`apt-get update` into `cache/lists` for `languages` (with the system's sources and
    keys, the system's lists untouched). ok: every Translation file came."""
    lists = cache / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (cache / "apt.conf").write_text(apt_config(lists.resolve()))
    command = fetch_command(cache, languages)
    started = time.perf_counter()
    if shutil.which("apt-get") is None:
        return FetchResult(False, "apt-get is not installed here", 0.0, command)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"})
    except subprocess.TimeoutExpired:
        return FetchResult(False, f"apt-get update took over {timeout:.0f} s", time.perf_counter() - started, command)
    seconds = time.perf_counter() - started
    missing = [lang for lang in languages if not list_files(lists, f"Translation-{lang}")]
    if not missing:
        return FetchResult(True, "", seconds, command)
    output = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    problems = [line for prefix in ("E:", "W:") for line in output if line.startswith(prefix)]
    why = (problems or output or [f"exit status {done.returncode}"])[0]
    return FetchResult(False, f"no Translation-{'/'.join(missing)} came ({why})", seconds, command)


@dataclass
class Sources:
    """Everything read from apt's lists: package metadata and descriptions per language."""

    packages: dict[str, PackageInfo]
    valid_md5: dict[str, set[str]]
    descriptions: dict[str, dict[str, Description]]
    files: dict[str, list[dict]]
    notes: list[str]


def load_sources(languages: list[str], folders: list[Path], status: Path | None = DPKG_STATUS) -> Sources:
    """Descriptions per language from the first folder (of `folders`) holding its
    Translation files; package metadata from every `Packages` list found. English falls back
    to the installed packages' descriptions in dpkg's status file."""
    packages: dict[str, PackageInfo] = {}
    valid: dict[str, set[str]] = {}
    files: dict[str, list[dict]] = {"packages": []}
    notes: list[str] = []
    for folder in folders:
        for path in list_files(folder, "Packages"):
            files["packages"].append(describe_source(path))
            for info in read_packages(read_list(path)):
                packages.setdefault(info.package, info)
                valid.setdefault(info.package, set()).add(info.md5)
    descriptions: dict[str, dict[str, Description]] = {}
    for language in languages:
        paths = next((found for folder in folders if (found := list_files(folder, f"Translation-{language}"))), [])
        if paths:
            table: dict[str, Description] = {}
            for path in paths:
                for entry in read_translation(read_list(path), language):
                    if entry.md5 in valid.get(entry.package, ()):
                        table.setdefault(entry.package, entry)
            descriptions[language] = table
            files[language] = [describe_source(p) for p in paths]
        elif language == "en" and status is not None and status.is_file():
            table = {}
            for info, entry in read_status(status.read_text(errors="replace")):
                packages.setdefault(info.package, info)
                table.setdefault(entry.package, entry)
            descriptions[language] = table
            files[language] = [{"file": status.name, "folder": str(status.parent),
                                "sha256": hashlib.sha256(status.read_bytes()).hexdigest(),
                                "release_date": time.strftime("%Y-%m-%d", time.gmtime(status.stat().st_mtime)),
                                "note": "installed packages only"}]
            notes.append("English descriptions come from the installed packages (dpkg's status file): "
                         "no Translation-en list was found")
        else:
            notes.append(f"no Translation-{language} list: {language} left out")
    return Sources(packages, valid, descriptions, files, notes)


# ------------------------------------------------------------------------------------ filters

@dataclass(frozen=True)
class Settings:
    languages: tuple[str, ...] = LANGUAGES
    docs_per_language: int = DEFAULT_DOCS_PER_LANGUAGE
    seed: int = DEFAULT_SEED
    min_words: int = 25
    max_words: int = 250
    min_query_words: int = 3
    doc_near_dup: float = 0.5
    query_near_dup: float = 0.8

    def to_dict(self) -> dict:
        return {"languages": list(self.languages), "docs_per_language": self.docs_per_language, "seed": self.seed,
                "min_words": self.min_words, "max_words": self.max_words, "min_query_words": self.min_query_words,
                "doc_near_dup": self.doc_near_dup, "query_near_dup": self.query_near_dup,
                "builder_version": BUILDER_VERSION}


def normalize(text: str) -> str:
    """Case-folded, NFKC, punctuation dropped, whitespace collapsed: for exact comparisons."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def shingles(text: str, n: int = 5) -> frozenset[str]:
    text = normalize(text)
    return frozenset(text[i:i + n] for i in range(max(1, len(text) - n + 1)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def reject_reason(entry: Description, info: PackageInfo | None, english: Description | None,
                  settings: Settings) -> str | None:
    """Why `entry` cannot be a benchmark pair, or None. `english`: the package's English
    description (boilerplate is recognized in English)."""
    name = entry.package
    if name.endswith(("-dbg", "-dbgsym")) or (info and info.section.rpartition("/")[2] in _SKIPPED_SECTIONS):
        return "debug_or_transitional"
    for text in (entry.short, entry.long, *((english.short, english.long) if english else ())):
        if _BOILERPLATE.search(text):
            return "boilerplate"
    words = len(entry.long.split())
    if words < settings.min_words:
        return "too_short"
    if words > settings.max_words:
        return "too_long"
    if len(entry.short.split()) < settings.min_query_words:
        return "short_query"
    if normalize(entry.short) in normalize(entry.long):
        return "query_in_document"
    if entry.language != "en" and english and normalize(entry.long) == normalize(english.long):
        return "untranslated"
    return None


def language_detector(languages: Iterable[str]) -> Callable[[str], str] | None:
    """A lingua detector limited to `languages` (None for fewer than two): text -> code."""
    codes = sorted(set(languages))
    if len(codes) < 2:
        return None
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_languages(
        *(Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes)).build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text[:2000])
        return found.iso_code_639_1.name.lower() if found else "und"

    return detect


@dataclass(frozen=True)
class Pair:
    language: str
    package: str
    query: str
    document: str

    @property
    def doc_id(self) -> str:
        return f"{self.language}-{self.package}"

    @property
    def query_id(self) -> str:
        return f"q-{self.language}-{self.package}"


def _rank(seed: int, language: str, package: str) -> bytes:
    return hashlib.sha256(f"{seed}:{language}:{package}".encode()).digest()


def select(sources: Sources, settings: Settings,
           detect: Callable[[str], str] | None = None) -> tuple[list[Pair], dict[str, dict]]:
    """The benchmark's pairs (sorted by language, then package) and per-language counts:
    candidates after the filters, documents taken, and every drop by reason."""
    languages = [lang for lang in settings.languages if lang in sources.descriptions]
    english = sources.descriptions.get("en", {})
    counts: dict[str, dict] = {}
    candidates: dict[str, list[Description]] = {}
    for language in languages:
        dropped: Counter[str] = Counter()
        kept = []
        for package in sorted(sources.descriptions[language]):
            entry = sources.descriptions[language][package]
            reason = reject_reason(entry, sources.packages.get(package), english.get(package), settings)
            if reason:
                dropped[reason] += 1
            else:
                kept.append(entry)
        candidates[language] = kept
        counts[language] = {"descriptions": len(sources.descriptions[language]), "candidates": len(kept),
                            "dropped": dropped}

    used_sources: set[str] = set()
    seen_docs: set[str] = set()
    seen_queries: set[str] = set()
    doc_shingles: list[frozenset[str]] = []
    query_shingles: list[frozenset[str]] = []
    pairs: list[Pair] = []
    # The scarcest language first, so the languages with more translations give way to it.
    for language in sorted(languages, key=lambda lang: (len(candidates[lang]), lang)):
        # A seeded order by package name: a package added to or gone from the lists moves no other.
        pool = sorted(candidates[language], key=lambda e: _rank(settings.seed, language, e.package))
        dropped = counts[language]["dropped"]
        taken = 0
        for entry in pool:
            if taken >= settings.docs_per_language:
                break
            info = sources.packages.get(entry.package)
            source = info.source if info else entry.package
            doc_key, query_key = normalize(entry.long), normalize(entry.short)
            if source in used_sources:
                dropped["same_source"] += 1
                continue
            if doc_key in seen_docs:
                dropped["duplicate_document"] += 1
                continue
            if query_key in seen_queries:
                dropped["duplicate_query"] += 1
                continue
            doc_grams, query_grams = shingles(entry.long, 5), shingles(entry.short, 3)
            if any(jaccard(doc_grams, other) >= settings.doc_near_dup for other in doc_shingles):
                dropped["near_duplicate_document"] += 1
                continue
            if any(jaccard(query_grams, other) >= settings.query_near_dup for other in query_shingles):
                dropped["near_duplicate_query"] += 1
                continue
            if detect is not None and detect(entry.long) != language:
                dropped["wrong_language"] += 1
                continue
            used_sources.add(source)
            seen_docs.add(doc_key)
            seen_queries.add(query_key)
            doc_shingles.append(doc_grams)
            query_shingles.append(query_grams)
            pairs.append(Pair(language, entry.package, entry.short, entry.long))
            taken += 1
        counts[language]["documents"] = counts[language]["queries"] = taken
        if taken < settings.docs_per_language:
            counts[language]["short_by"] = settings.docs_per_language - taken
    order = {lang: k for k, lang in enumerate(settings.languages)}
    pairs.sort(key=lambda p: (order[p.language], p.package))
    for language in counts:
        counts[language]["dropped"] = dict(sorted(counts[language]["dropped"].items()))
    return pairs, counts


# ------------------------------------------------------------------------------------ writing

def _jsonl(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n" for row in rows)


def write_benchmark(folder: Path, pairs: list[Pair]) -> None:
    """The BEIR layout: corpus.jsonl (_id, title, text, language), queries.jsonl (_id, text,
    language), qrels/test.tsv (query-id, corpus-id, score; with its header)."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text(
        _jsonl({"_id": p.doc_id, "title": "", "text": p.document, "language": p.language} for p in pairs),
        encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        _jsonl({"_id": p.query_id, "text": p.query, "language": p.language} for p in pairs), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{p.query_id}\t{p.doc_id}\t1\n" for p in pairs), encoding="utf-8")


def write_corpus(path: Path, pairs: list[Pair]) -> None:
    """The generation corpus: the documents alone (id, text, language), never the queries."""
    path.write_text(_jsonl({"id": p.doc_id, "text": p.document, "language": p.language} for p in pairs),
                    encoding="utf-8")


def claim(folder: Path, option: str = "--out") -> None:
    """Make `folder` this builder's: create it, take it if empty, accept it if it carries our
    marker; anything else is refused untouched."""
    if folder.exists() and not folder.is_dir():
        raise BuildError(f"{option} {folder}: is a file; give a folder")
    marker = folder / MARKER
    if folder.is_dir() and any(folder.iterdir()):
        try:
            kind = json.loads(marker.read_text())["kind"]
        except (OSError, ValueError, KeyError, TypeError):
            kind = None
        if kind != KIND:
            raise BuildError(f"{option} {folder}: the folder holds files the quality-benchmark builder did not write "
                             f"(no {MARKER} marker of kind {KIND!r}); it never writes into such a folder: "
                             "choose a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        marker.write_text(json.dumps({"kind": KIND, "written_by": "synthgen bench.quality.build"}) + "\n")


def up_to_date(out: Path, settings: Settings) -> dict | None:
    """The build.json of a finished build in `out` with these settings, else None."""
    try:
        info = json.loads((out / "build.json").read_text())
    except (OSError, ValueError):
        return None
    files = [out / "corpus.jsonl", out / "benchmark" / "corpus.jsonl", out / "benchmark" / "queries.jsonl",
             out / "benchmark" / "qrels" / "test.tsv"]
    if info.get("settings") != settings.to_dict() or not all(f.is_file() for f in files):
        return None
    return info


def build(out: Path, settings: Settings, *, refresh: bool = False, offline: bool = False, reuse: bool = True,
          system_lists: Path | None = None, status: Path | None = None,
          log: Callable[[str], None] = print) -> dict:
    """Build the benchmark into `out` (see the module's doc); returns what build.json holds.
    `reuse`: a finished build with the same settings is kept as it is. `refresh`: fetch the
    translations again. `offline`: fetch nothing, use what the machine has (`system_lists`,
    default apt's lists folder; `status`, default dpkg's status file)."""
    started = time.perf_counter()
    system_lists = SYSTEM_LISTS if system_lists is None else system_lists
    status = DPKG_STATUS if status is None else status
    claim(out)
    if reuse and not refresh and (info := up_to_date(out, settings)):
        if offline or set(info.get("languages", ())) == set(settings.languages):
            log(f"benchmark in {out} is up to date (same settings): kept")
            return {**info, "reused": True}
        log(f"benchmark in {out} lacks {', '.join(sorted(set(settings.languages) - set(info['languages'])))}: "
            "building again")
    cache = out / "apt"
    languages = list(settings.languages)
    found = {lang: bool(list_files(cache / "lists", f"Translation-{lang}") or list_files(system_lists, f"Translation-{lang}"))
             for lang in languages}
    fetch: dict = {"attempted": False}
    if not offline and (refresh or not all(found.values())):
        result = fetch_translations(cache, languages)
        fetch = {"attempted": True, "ok": result.ok, "seconds": round(result.seconds, 1),
                 "command": " ".join(result.command), "message": result.message}
        if result.ok:
            log(f"fetched Translation-{'/'.join(languages)} from the Debian registry in {result.seconds:.1f} s "
                f"into {cache / 'lists'}")
        else:
            log(f"could not fetch Debian's translations: {result.message}; the benchmark uses the lists this "
                "machine has (English only if none)")
    sources = load_sources(languages, [cache / "lists", system_lists], status)
    if not sources.descriptions:
        raise BuildError("no package descriptions found: no Translation lists in "
                         f"{cache / 'lists'} or {system_lists}, and no dpkg status file")
    detect = language_detector(sources.descriptions)
    pairs, counts = select(sources, settings, detect)
    if not pairs:
        raise BuildError("no package description passed the filters: nothing to build")

    (out / "build.json").unlink(missing_ok=True)  # no build.json while the files change
    staging = out / ".benchmark.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    write_benchmark(staging, pairs)
    shutil.rmtree(out / "benchmark", ignore_errors=True)
    staging.rename(out / "benchmark")
    write_corpus(out / ".corpus.jsonl.tmp", pairs)
    os.replace(out / ".corpus.jsonl.tmp", out / "corpus.jsonl")

    built = [lang for lang in languages if counts.get(lang, {}).get("documents")]
    notes = list(sources.notes)
    if built == ["en"]:
        notes.append("English only: no translations were available")
    info = {
        "written_by": "synthgen bench.quality.build",
        "settings": settings.to_dict(),
        "languages": built,
        "english_only": built == ["en"],
        "documents": len(pairs),
        "queries": len(pairs),
        "counts": counts,
        "sources": sources.files,
        "fetch": fetch,
        "notes": notes,
        "files": {"benchmark": "benchmark/", "corpus": "corpus.jsonl"},
        "license": "Debian package descriptions, under the licenses of their packages (DFSG); built at run time, "
                   "not redistributed",
        "seconds": round(time.perf_counter() - started, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / ".build.json.tmp").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    os.replace(out / ".build.json.tmp", out / "build.json")
    per_language = ", ".join(f"{lang} {counts[lang]['documents']}" for lang in built)
    log(f"built {len(pairs)} documents and queries ({per_language}) in {info['seconds']:.0f} s into {out}")
    return info


def add_options(parser: argparse.ArgumentParser) -> None:
    """The builder's settings as options (shared with `python -m bench.quality`)."""
    defaults = Settings()
    env = os.environ.get
    parser.add_argument("--languages", default=env("QUALITY_LANGUAGES", ",".join(defaults.languages)),
                        help="comma-separated ISO 639-1 codes (env QUALITY_LANGUAGES; default %(default)s)")
    parser.add_argument("--docs-per-language", type=int,
                        default=int(env("QUALITY_DOCS_PER_LANGUAGE", defaults.docs_per_language)),
                        help="documents (= queries) per language (env QUALITY_DOCS_PER_LANGUAGE; default %(default)s)")
    parser.add_argument("--seed", type=int, default=int(env("QUALITY_SEED", defaults.seed)),
                        help="sampling seed (env QUALITY_SEED; default %(default)s)")
    parser.add_argument("--min-words", type=int, default=defaults.min_words,
                        help="shortest long description, in words (default %(default)s)")
    parser.add_argument("--max-words", type=int, default=defaults.max_words,
                        help="longest long description, in words (default %(default)s)")
    parser.add_argument("--refresh", action="store_true", help="fetch the translations again")
    parser.add_argument("--offline", action="store_true", help="fetch nothing: use the lists this machine has")


def settings_from(args: argparse.Namespace) -> Settings:
    languages = tuple(dict.fromkeys(c.strip().lower() for c in args.languages.split(",") if c.strip()))
    bad = [c for c in languages if not re.fullmatch(r"[a-z]{2}", c)]
    if bad or not languages:
        raise BuildError(f"--languages {args.languages!r}: give comma-separated ISO 639-1 codes, e.g. en,de,fr,es")
    if args.docs_per_language < 1:
        raise BuildError(f"--docs-per-language {args.docs_per_language}: must be >= 1")
    return Settings(languages=languages, docs_per_language=args.docs_per_language, seed=args.seed,
                    min_words=args.min_words, max_words=args.max_words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality.build", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, empty, or an earlier build)")
    parser.add_argument("--force", action="store_true", help="build again even if the settings did not change")
    add_options(parser)
    args = parser.parse_args(argv)
    try:
        build(args.out, settings_from(args), refresh=args.refresh, offline=args.offline, reuse=not args.force)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
