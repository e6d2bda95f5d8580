"""poise's home folder (DESIGN.md, "Where state lives"): ``POISE_HOME``, else the platform's
user data folder. The store keeps its database there, the data layer its parsed-price cache."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["poise_home"]


def poise_home() -> Path:
    """``POISE_HOME``, else the platform's user data folder for poise (not created here)."""
    env = os.environ.get("POISE_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("poise", appauthor=False))
