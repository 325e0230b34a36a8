"""A model that will not load, as one line: which recipe key, which value, what to do.

A misspelled hub id or a folder that is not a model ends, deep inside transformers or
vLLM, in an `OSError` ("couldn't connect to 'https://huggingface.co'... couldn't find
them in the cached files", "not a local folder and is not a valid model identifier"); a
misspelled engine argument in a `TypeError` from vLLM's `EngineArgs`. Both are the user's
to fix, so both become a `UserError` naming the key and the value.
"""

from __future__ import annotations

import contextlib
import re
from typing import Iterator

from synthgen.errors import UserError

_UNEXPECTED_ARGUMENT = re.compile(r"unexpected keyword argument '([^']+)'")


@contextlib.contextmanager
def model_errors(key: str, model: str, kwargs_key: str | None = None) -> Iterator[None]:
    """Within: a model `model` (set by recipe key `key`) loads, with engine arguments from
    recipe key `kwargs_key` if any."""
    try:
        yield
    except TypeError as exc:
        unexpected = _UNEXPECTED_ARGUMENT.search(str(exc))
        if kwargs_key is None or unexpected is None:
            raise
        raise UserError(f"{kwargs_key}: {unexpected.group(1)!r} is not an engine argument of vLLM "
                        "(see `vllm serve --help` or vLLM's EngineArgs): fix or remove it") from None
    except OSError as exc:
        first = " ".join(str(exc).split())[:240]
        raise UserError(f"{key}: cannot load {model!r} ({first}): give a hub id such as Qwen/Qwen3-0.6B, a "
                        "local model folder, or a builtin: name (synthgen models list); a hub model needs "
                        "network access or a copy in the Hugging Face cache (HF_HOME)") from None
