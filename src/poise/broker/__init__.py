"""Broker adapters implementing :class:`poise.execute.Venue`: the paper venue and Alpaca."""

from poise.broker._alpaca import AlpacaVenue, alpaca_keys
from poise.broker._paper import PaperVenue, paper_url

__all__ = ["AlpacaVenue", "PaperVenue", "alpaca_keys", "paper_url"]
