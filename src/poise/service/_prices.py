"""Price tables for plans and drift: they live in the store (:mod:`poise.store._prices`), so
the store's batch resolves names exactly as the service does; re-exported here for the
service's modules."""

from poise.store._prices import PriceTable, digest_text, prices_digest, resolve_prices

__all__ = ["PriceTable", "digest_text", "prices_digest", "resolve_prices"]
