"""The theme app extension ships the storefront scripts as they are built from storefront_script/src.

They are committed (extensions/clickstream-theme/assets/clickstream*.js) so that a deploy from a
fresh clone has them; `node build.mjs --check` rebuilds them in memory with the pinned esbuild
and fails when the committed copies differ (`make theme-assets` writes them).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "storefront_script"
ASSETS = REPO_ROOT / "extensions" / "clickstream-theme" / "assets"
BUNDLES = ("clickstream.js", "clickstream-widgets.js", "clickstream-notify.js")


def _check(script_dir: Path) -> subprocess.CompletedProcess[str]:
    assert (SCRIPT / "node_modules" / "esbuild").is_dir(), "run `make storefront` (installs esbuild)"
    return subprocess.run(
        ["node", "build.mjs", "--check"], cwd=script_dir, capture_output=True, text=True, timeout=120
    )


def test_the_committed_theme_scripts_are_a_build_of_the_source() -> None:
    assert all((ASSETS / name).is_file() for name in BUNDLES)
    ignored = subprocess.run(
        ["git", "check-ignore", *(f"extensions/clickstream-theme/assets/{n}" for n in BUNDLES)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout == "", f"a clone must have the theme's scripts; git ignores: {ignored.stdout}"
    checked = _check(SCRIPT)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_fails_when_the_source_changed_and_the_theme_scripts_were_not_rebuilt(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "storefront_script"
    shutil.copytree(SCRIPT / "src", copy / "src")
    shutil.copy(SCRIPT / "build.mjs", copy / "build.mjs")
    (copy / "node_modules").symlink_to(SCRIPT / "node_modules")
    shutil.copytree(ASSETS, tmp_path / "extensions" / "clickstream-theme" / "assets")
    widgets = copy / "src" / "widgets.js"
    source = widgets.read_text()
    assert '"pick_up_where_you_left_off"' in source
    widgets.write_text(source.replace('"pick_up_where_you_left_off"', '"pick_up"'))

    checked = _check(copy)

    assert checked.returncode == 1
    assert "clickstream-widgets.js" in checked.stderr
    assert "/clickstream.js" not in checked.stderr  # only the bundle whose source changed
    assert "make theme-assets" in checked.stderr
