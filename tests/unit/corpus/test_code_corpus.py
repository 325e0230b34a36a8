"""synthgen.corpus.code_units: code units from source trees (the Python standard library as real
material, small hand-written files for the brace languages), and corpus.format = "code"."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pytest

from synthgen.corpus.code_units import CodeReject, CodeUnit, read_code_units, source_files, split_source
from synthgen.corpus.readers import Document, Reject, count_records, read_corpus
from synthgen.config.sources import CorpusConfig

STDLIB = Path(sysconfig.get_paths()["stdlib"])
INCLUDE = Path(sysconfig.get_paths()["include"])

JS = """\
// Parses "{" tokens.
import { x } from "./x.js";

/**
 * Adds two numbers.
 */
export function add(a, b) {
  const s = "}}}";  // a brace in a string: }
  const re = /[{]+/g;
  return a + b + `${s}}`.length;
}

export default class Stack extends Base {
  #items = [];

  constructor(items = []) {
    this.#items = items;
  }

  static from(list) {
    return new Stack([...list]);
  }

  get size() {
    return this.#items.length;
  }
}

const double = (x) => {
  return x * 2;
};

const triple = x => x * 3;

function declared(a) {
  if (a) { return '{'; }
  return "}";
}
"""

TS = """\
export interface Options { depth: number }

export abstract class Repo<T> {
  protected items: T[] = [];
  abstract find(id: string): T | undefined;
  public add(item: T): void {
    this.items.push(item);
  }
}

export async function load(path: string): Promise<string> {
  return `file: ${path}`;
}
"""

GO = """\
package main

import "fmt"

// Point is a point in the plane.
type Point struct {
\tX, Y int // "{"
}

type Shape interface {
\tArea() float64
}

// String formats a point.
func (p *Point) String() string {
\treturn fmt.Sprintf("{%d, %d}", p.X, p.Y)
}

func Map[T any](xs []T, f func(T) T) []T {
\tout := make([]T, 0, len(xs))
\tfor _, x := range xs {
\t\tout = append(out, f(x))
\t}
\treturn out
}

func empty() struct{} {
\treturn struct{}{}
}

var raw = `}}}`
"""

RUST = """\
use std::fmt;

/// A 2-D point.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    name: &'a str,
    x: i32,
}

pub struct Pair(i32, i32);

impl<'a> Point<'a> {
    /// Makes a point.
    pub fn new(name: &'a str, x: i32) -> Self {
        let brace = '{';
        let raw = r#"}" }"#;
        Point { name, x }
    }
}

impl<'a> fmt::Display for Point<'a> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{{{}}}", self.x)
    }
}

pub trait Shape {
    fn area(&self) -> f64;
    fn describe(&self) -> String {
        format!("area {}", self.area())
    }
}

pub(crate) async fn fetch<T: Clone>(x: T) -> Vec<T> where T: Send {
    vec![x]
}

#[cfg(test)]
mod tests {
    fn helper() {}
}
"""

JAVA = """\
package demo;

/** A greeter. */
public class Greeter implements Runnable {
    private final String name = "}";

    public Greeter(String name) {
        this.name = name;
    }

    /** Says hello. */
    @Override
    public void run() {
        System.out.println("Hello, {" + name);
    }

    abstract void later();

    static class Inner {
        int value() { return 1; }
    }
}
"""

C = """\
#include <stdio.h>
#define OPEN {

/* Adds two ints. */
static int
add(int a, int b)
{
    return a + b; /* } */
}

int prototype(int x);

int main(int argc, char **argv) {
    printf("%d}\\n", add(1, 2));
    return 0;
}
"""

CPP = """\
namespace geo {

template <typename T>
class Box {
public:
    explicit Box(T v) : value_(v) {}
    void set(T v);
private:
    T value_;
};

template <typename T>
void Box<T>::set(T v) {
    value_ = v;
}

}  // namespace geo
"""


def _copy_stdlib(target: Path, *names: str) -> Path:
    for name in names:
        source = STDLIB / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / name)
    return target


def _units(root: Path, languages=("python",)) -> dict[str, CodeUnit]:
    return {u.id: u for u in read_code_units(root, languages) if isinstance(u, CodeUnit)}


def test_json_package_gives_functions_classes_and_methods(tmp_path):
    units = _units(_copy_stdlib(tmp_path, "json"))
    raw_decode = units["json/decoder.py::JSONDecoder.raw_decode"]
    assert raw_decode.language == "python"
    assert raw_decode.text.startswith("def raw_decode(self, s, idx=0):")
    assert 'Decode a JSON document from ``s``' in raw_decode.text
    source_lines = (tmp_path / "json/decoder.py").read_text().splitlines()
    assert source_lines[raw_decode.line - 1] == "    def raw_decode(self, s, idx=0):"
    # dedented by exactly the method's indentation, otherwise the exact source
    assert raw_decode.text.splitlines() == [line[4:] for line in
                                            source_lines[raw_decode.line - 1:raw_decode.line - 1 +
                                                         len(raw_decode.text.splitlines())]]
    decoder = units["json/decoder.py::JSONDecoder"]
    assert decoder.text.startswith("class JSONDecoder(object):") and "def raw_decode" in decoder.text
    assert "json/__init__.py::loads" in units and "json/tool.py::main" in units
    # functions nested in functions stay inside their parent
    assert "def _iterencode_list" in units["json/encoder.py::_make_iterencode"].text
    assert not [i for i in units if i.endswith("_iterencode_list") or i.endswith(".replace")]


def test_order_is_sorted_by_path_then_source_line(tmp_path):
    root = _copy_stdlib(tmp_path, "json")
    first = list(read_code_units(root, ["python"]))
    assert first == list(read_code_units(root, ["python"]))
    keys = [(u.path, u.line) for u in first]
    assert keys == sorted(keys)
    assert [u.path for u in first][0] == "json/__init__.py"


def test_decorators_belong_to_the_unit_and_repeated_names_are_numbered(tmp_path):
    units = _units(_copy_stdlib(tmp_path, "csv.py"))
    assert units["csv.py::DictReader.fieldnames"].text.startswith("@property\ndef fieldnames(self):")
    assert units["csv.py::DictReader.fieldnames#2"].text.startswith("@fieldnames.setter\ndef fieldnames(")


def test_python_definitions_in_blocks_and_nested_classes():
    source = '''\
import sys
if sys.platform == "win32":
    def where():
        return "win"
else:
    def where():
        return "posix"

class Outer:
    class Inner:
        async def run(self):
            def helper():
                pass
            return helper

try:
    from fast import speed
except ImportError:
    def speed():
        return 1
'''
    units = split_source(source, "m.py", "python")
    assert [u.name for u in units] == ["where", "where#2", "Outer", "Outer.Inner", "Outer.Inner.run", "speed"]
    assert units[1].text == 'def where():\n    return "posix"'
    assert units[4].text.startswith("async def run(self):\n    def helper():")


def test_syntax_error_is_a_reject_and_the_other_files_still_read(tmp_path):
    root = _copy_stdlib(tmp_path, "json")
    clean = len(_units(root))
    (root / "json" / "broken.py").write_text("def f(:\n    pass\n")
    items = list(read_code_units(root, ["python"]))
    rejects = [i for i in items if isinstance(i, CodeReject)]
    assert [(r.id, r.reason) for r in rejects] == [("json/broken.py", "syntax_error")]
    assert rejects[0].detail.startswith("line 1:")
    assert len(items) == clean + 1


def test_invalid_utf8_is_undecodable_and_a_coding_cookie_is_honoured(tmp_path):
    (tmp_path / "bad.py").write_bytes(b"def f():\n    return '\xff\xfe'\n")
    (tmp_path / "bad.js").write_bytes(b"function f() { return '\xff'; }\n")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\ndef cafe():\n    return 'caf\xe9'\n")
    items = list(read_code_units(tmp_path, ["python", "javascript"]))
    assert [(i.id, i.reason) for i in items if isinstance(i, CodeReject)] == [
        ("bad.js", "undecodable"), ("bad.py", "undecodable")]
    assert [i.text for i in items if isinstance(i, CodeUnit)] == ["def cafe():\n    return 'café'"]


@pytest.mark.parametrize("name, language, source, expected", [
    ("a.js", "javascript", JS, ["add", "Stack", "Stack.constructor", "Stack.from", "Stack.size",
                                "double", "declared"]),
    ("g.ts", "typescript", TS, ["Repo", "Repo.add", "load"]),
    ("b.go", "go", GO, ["Point", "Shape", "Point.String", "Map", "empty"]),
    ("c.rs", "rust", RUST, ["Point", "impl Point", "Point.new", "impl Display for Point", "Point.fmt",
                            "Shape", "Shape.describe", "fetch"]),
    ("D.java", "java", JAVA, ["Greeter", "Greeter.Greeter", "Greeter.run", "Greeter.Inner",
                              "Greeter.Inner.value"]),
    ("e.c", "c", C, ["add", "main"]),
    ("f.cpp", "cpp", CPP, ["Box", "Box.Box", "Box.set"]),
])
def test_brace_languages_give_the_expected_units(tmp_path, name, language, source, expected):
    (tmp_path / name).write_text(source)
    units = list(read_code_units(tmp_path, [language]))
    assert [u.id for u in units] == [f"{name}::{n}" for n in expected]
    assert all(isinstance(u, CodeUnit) and u.language == language for u in units)
    lines = source.splitlines()
    for unit in units:  # each unit starts where it says, and its braces balance
        assert lines[unit.line - 1].strip() == unit.text.splitlines()[0].strip()
        assert unit.text.rstrip(";").endswith("}")


def test_brace_units_keep_doc_comments_attributes_and_return_types():
    def text(name: str, source: str, language: str, path: str = "x") -> str:
        return {u.name: u.text for u in split_source(source, path, language)}[name]

    assert text("add", JS, "javascript").startswith(
        "/**\n * Adds two numbers.\n */\nexport function add(a, b) {")
    assert text("Stack.from", JS, "javascript") == "static from(list) {\n  return new Stack([...list]);\n}"
    assert text("Point.String", GO, "go").startswith("// String formats a point.\nfunc (p *Point) String()")
    assert text("Point", RUST, "rust").startswith(
        "/// A 2-D point.\n#[derive(Debug, Clone)]\npub struct Point")
    assert text("Greeter.run", JAVA, "java").startswith("/** Says hello. */\n@Override\npublic void run() {")
    assert text("add", C, "c").startswith("/* Adds two ints. */\nstatic int\nadd(int a, int b)\n{")
    assert text("Box.set", CPP, "cpp").startswith("template <typename T>\nvoid Box<T>::set(T v) {")
    wrapped = "#include <x.h>\n/* Adds\n   two. */\nint add(int a) { return a; }\n#endif\nint f(void) { return 0; }\n"
    assert text("add", wrapped, "c").startswith("/* Adds\n   two. */\nint add")  # not the #include
    assert text("f", wrapped, "c") == "int f(void) { return 0; }"  # not the #endif


def test_c_static_inline_functions_of_the_python_headers(tmp_path):
    header = INCLUDE / "cpython" / "listobject.h"
    if not header.is_file():
        pytest.skip("no Python C headers here")
    shutil.copy(header, tmp_path / "listobject.h")
    source = header.read_text()
    units = _units(tmp_path, ["c"])
    for name in ("PyList_GET_SIZE", "PyList_SET_ITEM"):
        if f"{name}(" in source and "static inline" in source:
            unit = units[f"listobject.h::{name}"]
            assert unit.text.startswith("static inline") and unit.text.endswith("}")


def test_walk_skips_caches_vendored_and_hidden_folders_and_other_languages(tmp_path):
    for folder in (".", "pkg", "pkg/__pycache__", "node_modules/dep", ".git", ".hidden", "env",
                   "lib/site-packages"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "pkg" / ".secret.py").write_text("def g():\n    return 2\n")
    (tmp_path / "pkg" / "app.js").write_text("function h() { return 3; }\n")
    (tmp_path / "pkg" / "types.d.ts").write_text("declare function k(): void;\n")
    assert [p for p, _, _ in source_files(tmp_path, ["python"])] == ["mod.py", "pkg/mod.py"]
    assert [p for p, _, _ in source_files(tmp_path, ["python", "javascript", "typescript"])] == [
        "mod.py", "pkg/app.js", "pkg/mod.py"]
    assert [u.id for u in read_code_units(tmp_path / "pkg" / "mod.py", ["python"])] == ["mod.py::f"]


def test_dot_h_files_are_c_unless_only_cpp_is_asked_for(tmp_path):
    (tmp_path / "x.h").write_text("static int one(void) { return 1; }\n")
    assert [u.language for u in read_code_units(tmp_path, ["c", "cpp"])] == ["c"]
    assert [u.language for u in read_code_units(tmp_path, ["cpp"])] == ["cpp"]
    assert list(read_code_units(tmp_path, ["python"])) == []


def test_read_corpus_gives_code_documents_without_language_detection(tmp_path, monkeypatch):
    root = _copy_stdlib(tmp_path, "json")
    (root / "json" / "broken.py").write_text("def f(:\n")
    monkeypatch.setattr("synthgen.corpus.readers.detect_language", lambda text: pytest.fail("detection ran"))
    config = CorpusConfig(path=str(root), format="code")
    items = list(read_corpus(config, root))
    documents = [i for i in items if isinstance(i, Document)]
    assert {d.language for d in documents} == {"python"}
    by_id = {d.id: d for d in documents}
    assert by_id["json/decoder.py::JSONDecoder.raw_decode"].text.startswith("def raw_decode")
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [(r.reason, r.source_id) for r in rejects] == [("syntax_error", "json/broken.py")]
    assert rejects[0].detail["detail"].startswith("line 1:")
    assert count_records(config, root) == len(items)


def test_min_and_max_chars_apply_to_code_and_rejects_are_counted(tmp_path):
    root = _copy_stdlib(tmp_path, "json")
    config = CorpusConfig(path=str(root), format="code", min_chars=100, max_chars=1000)
    items = list(read_corpus(config, root))
    reasons = [i.reason for i in items if isinstance(i, Reject)]
    assert reasons.count("too_long") >= 5 and reasons.count("too_short") >= 1  # e.g. __reduce__
    assert all(100 <= len(i.text) <= 1000 for i in items if isinstance(i, Document))
    assert count_records(config, root) == len(items)
