"""The quality benchmark: a multilingual retrieval set built at run time from Debian's package
descriptions (`bench/quality/build.py`) and `make quality` (`python -m bench.quality`), which
generates rows over its documents with synthgen and scores them with `synthgen eval`."""
