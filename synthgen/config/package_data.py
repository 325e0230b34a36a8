"""synthgen's own data: the prompt templates and the built-in persona libraries.

People edit them at the top of the repository, in `prompts/` and `personas/`. The package
reaches them under two names of its own, `synthgen/_prompts` and `synthgen/_personas`,
which in the checkout are symbolic links to those folders (`../prompts`, `../personas`):

- from a checkout (`PYTHONPATH=.`, or the editable install `make` does), the links lead to
  the top-level folders, so an edited template is used at once;
- building a wheel or an sdist copies the files behind the links (package-data in
  pyproject.toml), so an installed synthgen carries real `synthgen/_prompts/...` files and
  runs from any folder, a Ray node that pip-installed it included.

So there is one way to find them, `importlib.resources.files("synthgen") / "_prompts"`,
and nothing to fall back to. The leading underscore keeps the names apart from the module
`synthgen.personas.library` and says they are data, not subpackages.

Why links and not setuptools' `package-dir` mapping of the top-level folders into the
package: setuptools' editable finder does not import a mapped folder that has no
`__init__.py` (checked with setuptools 78), and no mapping helps a checkout that is only on
`PYTHONPATH` (worktrees, the unit tests).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def package_data_dir(name: str) -> Path:
    """The folder `name` inside the installed synthgen package, links followed.

    pip installs wheels unpacked, so this is a plain file-system path; from a checkout it
    is the top-level folder itself (`prompts/`, not `synthgen/_prompts`), which is what
    error messages then name.
    """
    return Path(str(importlib.resources.files("synthgen") / name)).resolve()

