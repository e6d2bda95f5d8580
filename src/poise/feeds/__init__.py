"""Market-data feeds, an adapter (DESIGN.md's layers): Alpaca's daily bars through alpaca-py
(``poise[alpaca]``) and Yahoo Finance's through yfinance (``poise[yahoo]``), each a
``poise.data.PriceFeed``.

:func:`install_feeds` registers them with the data layer's registry, so that
``--prices alpaca:SYM,...`` and ``yahoo:SYM,...`` (``poise.data.load_feed``) reach them; the
command line calls it at start. Registering imports neither pandas nor the feed libraries:
each feed's module loads the first time its feed is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poise._lazy import attach
from poise.data._loader import register_feed

if TYPE_CHECKING:
    from poise.data import PriceFeed
    from poise.feeds._alpaca import AlpacaBars, alpaca_from_env
    from poise.feeds._alpaca_http import alpaca_keys
    from poise.feeds._yahoo import YahooBars

__getattr__, __dir__ = attach(
    __name__,
    {
        "poise.feeds._alpaca": ["AlpacaBars", "alpaca_from_env"],
        "poise.feeds._alpaca_http": ["alpaca_keys"],
        "poise.feeds._yahoo": ["YahooBars"],
    },
)

__all__ = ["AlpacaBars", "YahooBars", "alpaca_from_env", "alpaca_keys", "install_feeds"]


def _make_alpaca() -> PriceFeed:
    from poise.feeds._alpaca import alpaca_from_env

    return alpaca_from_env()


def _make_yahoo() -> PriceFeed:
    from poise.feeds._yahoo import YahooBars

    return YahooBars()


def install_feeds() -> None:
    """Register the ``alpaca`` and ``yahoo`` feeds with ``poise.data`` (idempotent)."""
    register_feed("alpaca", _make_alpaca)
    register_feed("yahoo", _make_yahoo)
