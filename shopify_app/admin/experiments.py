"""Admin pages for notification settings and experiment results (the conversion issue fills them)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_experiments", __name__)
