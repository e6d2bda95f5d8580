"""``poise serve``: the HTTP API (and everything mounted on it) over the store."""

from __future__ import annotations

import typer

from poise.cli._app import app
from poise.cli._options import DATABASE_URL

__all__ = ["serve"]


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Server processes."),
    database_url: str | None = DATABASE_URL,
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Add a demo firm with the example households and print its users' passwords.",
    ),
) -> None:
    """Run the poise service (migrates the store's schema first)."""
    from poise.service import Settings
    from poise.service import serve as run_service

    settings = Settings.from_env(database_url)
    from poise.store import open_store

    open_store(settings.database_url).dispose()  # a clear exit 2 when it cannot be opened
    if demo:
        _demo(settings, host, port)
    run_service(settings, host=host, port=port, workers=workers)


def _demo(settings: object, host: str, port: int) -> None:
    """Load the demo firm and print how to sign in to the dashboard."""
    from poise.service import Settings
    from poise.service.web._demo import DEMO_FIRM, load_demo
    from poise.store import make_engine, upgrade

    assert isinstance(settings, Settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    logins = load_demo(engine)
    engine.dispose()
    typer.echo(f"{DEMO_FIRM}: open http://{host}:{port}/login and sign in as")
    for login in logins:
        typer.echo(f"  {login.email}  password {login.password}  ({login.role})")
