"""Unit tests, one folder per synthgen package (tests/unit/<package>/ mirrors synthgen/<package>/).

The folders hold no `__init__.py`, so pytest puts this folder on `sys.path` (its "prepend"
import mode) and the shared helpers import by name from any of them: `fakes` (deterministic
engine stand-ins) and `run_folders` (finished runs written from rows). Test file names are
unique across the folders for the same reason.
"""
