"""The recipe: every knob a run has, validated, split by concern: sources (corpora,
personas), tasks, languages, quality (gates, mining), run (engines, embedder, executor),
the loader that reads a TOML recipe into them (`loader.py`) and the `Recipe` that ties
them together (`recipe.py`). Also where synthgen's own data files are found
(`package_data.py`) and how secrets are kept out of what is printed (`redaction.py`).

May import: nothing of synthgen but `synthgen.errors` and other config modules. Every
other package reads its settings from here, so config depends on none of them.
"""
