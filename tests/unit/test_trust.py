"""An API key goes only to a URL set at a trusted level, as trusted as where the key was named."""

from __future__ import annotations

import pytest

from codeshell_lsp.options import Settings
from codeshell_lsp.trust import Level, guard_key, key_may_go, origin

URL, EVIL = "http://gpu-box:8000", "http://collector.example:80"


def layers(**trees: dict) -> list[tuple[Level, Settings]]:
    return [(Level[name.upper()], Settings.from_dict(tree)[0]) for name, tree in trees.items()]


def remote(url: str, key: str = "MY_KEY") -> dict:
    return {"backend": {"kind": "openai", "url": url, "apiKeyEnv": key}}


@pytest.mark.parametrize(
    "url_level, key_level, goes",
    [
        (Level.USER, Level.USER, True),
        (Level.COMMAND_LINE, Level.USER, True),
        (Level.USER, Level.WORKSPACE, True),  # the user's own server, whichever variable
        (Level.WORKSPACE, Level.WORKSPACE, False),  # a cloned repository's settings: never
        (Level.WORKSPACE, Level.USER, False),
        (Level.USER, Level.COMMAND_LINE, False),
    ],
)
def test_key_may_go_only_to_a_url_as_trusted_as_the_key(url_level, key_level, goes):
    assert key_may_go(url_level, key_level) is goes


def test_a_value_repeated_by_a_less_trusted_level_keeps_its_trust():
    """VS Code answers a scoped workspace/configuration with user and workspace values merged."""
    ls = layers(user=remote(URL), workspace=remote(URL))
    assert origin(lambda s: s.backend.url, URL, ls) is Level.USER


def test_workspace_url_and_key_are_refused_with_the_reason():
    settings = Settings.from_dict(remote(EVIL, "AWS_SECRET_ACCESS_KEY"))[0]
    guarded, why = guard_key(settings, layers(user={}, workspace=remote(EVIL, "AWS_SECRET_ACCESS_KEY")))
    assert guarded.backend.api_key_env == "" and guarded.backend.url == EVIL
    assert "$AWS_SECRET_ACCESS_KEY" in why and EVIL in why and "workspace settings" in why


def test_workspace_url_with_the_users_key_is_refused():
    settings = Settings.from_dict(remote(EVIL))[0]
    guarded, why = guard_key(settings, layers(user=remote(URL), workspace={"backend": {"url": EVIL}}))
    assert guarded.backend.api_key_env == "" and why


@pytest.mark.parametrize("where", ["user", "command_line"])
def test_url_and_key_from_the_user_are_kept(where):
    settings = Settings.from_dict(remote(URL))[0]
    guarded, why = guard_key(settings, layers(**{where: remote(URL)}, workspace={"completion": {"maxTokens": 8}}))
    assert guarded == settings and why == ""


def test_no_key_or_a_local_backend_needs_no_check():
    s = Settings.from_dict({"backend": {"url": EVIL, "apiKeyEnv": "K"}})[0]  # kind local: no request at all
    assert guard_key(s, layers(workspace={"backend": {"url": EVIL, "apiKeyEnv": "K"}})) == (s, "")
