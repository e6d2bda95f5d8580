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
) -> None:
    """Run the poise service (migrates the store's schema first)."""
    from poise.service import Settings
    from poise.service import serve as run_service

    run_service(Settings.from_env(database_url), host=host, port=port, workers=workers)
