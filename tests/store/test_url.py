from __future__ import annotations

from pathlib import Path

import pytest

from poise._errors import InputError
from poise.store import normalize_database_url, poise_home, resolve_database_url


def test_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POISE_DATABASE_URL", "sqlite:///env.db")
    assert resolve_database_url("sqlite:///flag.db") == "sqlite:///flag.db"


def test_environment_wins_over_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POISE_HOME", str(tmp_path))
    monkeypatch.setenv("POISE_DATABASE_URL", "postgresql://u@h:5432/d")
    assert resolve_database_url(None) == "postgresql+psycopg://u@h:5432/d"


def test_default_is_sqlite_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("POISE_HOME", str(home))
    monkeypatch.delenv("POISE_DATABASE_URL", raising=False)
    assert resolve_database_url(None) == f"sqlite:///{home / 'poise.db'}"
    assert home.is_dir()


def test_home_defaults_to_platform_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("POISE_HOME", raising=False)
    assert poise_home() == Path(platformdirs.user_data_dir("poise", appauthor=False))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/d", "postgresql+psycopg2://u@h/d", "nonsense"])
def test_unsupported_urls_name_the_flag(url: str) -> None:
    with pytest.raises(InputError) as err:
        normalize_database_url(url)
    assert err.value.field == "--database-url"
