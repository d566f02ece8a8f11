"""Where a setting came from, and whether an API key may go where the settings point.

Settings arrive at levels the user trusts differently: the command line and the user's
own editor settings (``initializationOptions``, ``workspace/configuration`` without a
scope, a pushed ``didChangeConfiguration`` tree) are the user's; a workspace's or
folder's settings (``workspace/configuration`` scoped to the workspace folder) come
with the code being edited, from whoever wrote it. The key ``backend.apiKeyEnv`` names
lives in the environment, a trusted place: it is sent only to a ``backend.url`` set at a
trusted level, and at least as trusted as the level that named the key — never to a
URL a cloned repository chose.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Callable, Sequence

from .options import Settings


class Level(enum.IntEnum):
    """How far a settings source is trusted (higher: more)."""

    WORKSPACE = 0  # a workspace's or folder's settings
    USER = 1  # the user's own editor settings
    COMMAND_LINE = 2


TRUSTED = Level.USER
_NAMES = {Level.WORKSPACE: "workspace settings", Level.USER: "user settings", Level.COMMAND_LINE: "the command line"}


def key_may_go(url_level: Level, key_level: Level) -> bool:
    """Whether the key named at ``key_level`` may be sent to a URL set at ``url_level``."""
    return url_level >= TRUSTED and url_level >= key_level


def origin(get: Callable[[Settings], Any], value: Any, layers: Sequence[tuple[Level, Settings]]) -> Level:
    """The most trusted level whose settings hold ``value`` where ``get`` looks (a level
    repeating the user's value does not make it less trusted)."""
    return max((level for level, s in layers if get(s) == value), default=Level.WORKSPACE)


def guard_key(settings: Settings, layers: Sequence[tuple[Level, Settings]]) -> tuple[Settings, str]:
    """``settings`` as they may be used: without ``backend.apiKeyEnv`` (and the reason,
    for the user) when its key would go to a URL set at a less trusted level."""
    b = settings.backend
    if not b.api_key_env or b.kind == "local":
        return settings, ""
    url_level = origin(lambda s: s.backend.url, b.url, layers)
    key_level = origin(lambda s: s.backend.api_key_env, b.api_key_env, layers)
    if key_may_go(url_level, key_level):
        return settings, ""
    why = (
        f"the key in ${b.api_key_env} (backend.apiKeyEnv, from {_NAMES[key_level]}) is not sent to backend.url "
        f"{b.url} (from {_NAMES[url_level]}): a key goes only to a URL set in your user settings or on the command "
        f"line, as trusted as where the key was named. Set backend.url there to use the key"
    )
    return settings.replace(backend=dataclasses.replace(b, api_key_env="")), why
