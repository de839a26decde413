"""Shopify's own tools accept the app as a fresh clone has it: `shopify app build` and Theme Check.

The Shopify CLI is pinned in tools/shopify (`make shopify-tools`, which `make test` runs, installs
it and the web pixel's npm dependencies from their lockfiles). The build runs offline, on a copy
of the files git would check out, with `--skip-dependencies-installation`: the CLI validates
shopify.app.toml and each extension's TOML, bundles the web pixel and runs Theme Check on the
theme app extension. Theme Check's errors do not fail the build, so they are asserted apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SHOPIFY = REPO_ROOT / "tools" / "shopify" / "node_modules" / ".bin" / "shopify"
PIXEL_MODULES = REPO_ROOT / "extensions" / "clickstream-pixel" / "node_modules"
# The CLI keeps retrying a bundle that fails to resolve an import instead of exiting.
CLI_TIMEOUT = 240


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files as a clone of this working tree would have them (tracked, or new
    and not ignored), plus the pixel's installed npm dependencies (what `npm ci` there makes)."""
    assert SHOPIFY.exists(), "the Shopify CLI is not installed: run `make shopify-tools`"
    assert PIXEL_MODULES.is_dir(), "the web pixel's dependencies are not installed: run `make shopify-tools`"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    clone = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    shutil.copytree(PIXEL_MODULES, clone / "extensions" / "clickstream-pixel" / "node_modules", symlinks=True)
    return clone


def _shopify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOPIFY_CLI_NO_ANALYTICS": "1", "NO_COLOR": "1", "CI": "1"}
    return subprocess.run(
        [str(SHOPIFY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT
    )


def test_shopify_app_build_passes_on_a_fresh_clone(fresh_clone: Path) -> None:
    built = _shopify(
        "app", "build", "--skip-dependencies-installation", "--path", str(fresh_clone), cwd=fresh_clone
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-4000:]
    assert "built!" in output, output[-4000:]
    assert "clickstream-pixel successfully built" in output, output[-4000:]
    assert "[error]" not in output, output[-4000:]  # Theme Check's findings, printed by the build


def test_theme_check_reports_no_errors_on_the_theme_extension(fresh_clone: Path) -> None:
    theme = fresh_clone / "extensions" / "clickstream-theme"
    checked = _shopify(
        "theme", "check", "--path", str(theme), "--output", "json", "--fail-level", "error", cwd=theme
    )
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-4000:]
    assert "ENOENT" not in checked.stderr, checked.stderr[-2000:]
    files = json.loads(checked.stdout[checked.stdout.index("[") :])
    errors = [
        (f["path"], o["check"], o["message"])
        for f in files
        for o in f["offenses"]
        if o["severity"] == "error"
    ]
    assert errors == []
