"""The recipe: every knob a run has, validated, split by concern (sources, tasks,
languages, quality gates and mining, run and engines), and the loader that reads a TOML
recipe into it. Also where synthgen's own data files are found and how secrets are kept
out of what is printed or written.

May import: nothing of synthgen but `synthgen.errors` and other config modules. Every
other package reads its settings from here, so config depends on none of them.
"""
