"""Broker adapters implementing :class:`poise.execute.Venue`: the paper venue and Alpaca."""

from poise.broker._paper import PaperVenue, paper_url

__all__ = ["PaperVenue", "paper_url"]
