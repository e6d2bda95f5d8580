"""``poise orders``: send a plan's orders to a broker, recover after a crash, follow them;
``poise paper``: look inside the paper venue."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import BrokerError, InputError
from poise.cli._app import app, console, err_console, print_json
from poise.cli._options import DATABASE_URL, number

if TYPE_CHECKING:
    from poise.execute import Intent, OrderSender, PreTradeRules, Venue
    from poise.store import SqlOrderStore

__all__ = ["orders_app", "paper_app"]

orders_app = typer.Typer(
    help="Send a plan's orders to a broker (paper or Alpaca) and follow them.",
    no_args_is_help=True,
)
paper_app = typer.Typer(help="The paper venue: a simulated broker in its own database.")
app.add_typer(orders_app, name="orders")
app.add_typer(paper_app, name="paper")

_BROKERS = ("paper", "alpaca")


def _store(database_url: str | None) -> SqlOrderStore:
    from poise.store import SqlOrderStore, open_store

    return SqlOrderStore(open_store(database_url))


def _venue(broker: str, *, prices: dict[str, float] | None = None, live: bool = False) -> Venue:
    if broker == "paper":
        from poise.broker import PaperVenue, paper_url
        from poise.store import poise_home

        home = poise_home()
        home.mkdir(parents=True, exist_ok=True)
        return PaperVenue(paper_url(home), prices)
    if broker == "alpaca":
        from poise.broker import AlpacaVenue, alpaca_keys

        key, secret = alpaca_keys()
        return AlpacaVenue(key, secret, live=live)
    raise InputError(f"unknown broker {broker!r}; use {' | '.join(_BROKERS)}", field="--broker")


def _sender(store: SqlOrderStore, venue: Venue, rules: PreTradeRules | None = None) -> OrderSender:
    from poise.execute import OrderSender

    return OrderSender(store, venue, rules, poll_interval=0.05, timeout=60.0)


def _own_plans(store: SqlOrderStore) -> set[str]:
    """The plans the command line made from plan files (each is its own book). A service's
    plans in the same database (book ``plan:ID@CONNECTION``) belong to the service's sender,
    which reaches them through their broker connections: the command line's keys and venue
    are not theirs, so it never looks them up, sends or cancels them."""
    return {p.plan for p in store.plans() if p.book == p.plan}


def _open_intents(store: SqlOrderStore) -> list[Intent]:
    """The unfinished intents of the command line's own plans."""
    own = _own_plans(store)
    return [i for i in store.intents() if i.plan in own and not i.state.ended]


def _recover(sender: OrderSender, store: SqlOrderStore) -> None:
    """Look up at the sender's venue every order of the command line's plans that may have
    reached it."""
    own = _own_plans(store)
    plans = {
        i.plan
        for i in store.intents()
        if i.plan in own and i.venue == sender.venue.name and i.state.may_be_at_venue
    }
    for plan in sorted(plans):
        sender.recover(plan)


def _intents_table(intents: list[Intent], title: str) -> Table:
    table = Table(title=title)
    for column in ("order", "account", "side", "symbol", "quantity", "filled", "price", "state"):
        table.add_column(
            column, justify="right" if column in {"quantity", "filled", "price"} else "left"
        )
    table.add_column("reason")
    for i in intents:
        o = i.order
        price = "" if i.average_price is None else f"{i.average_price:,.4f}"
        table.add_row(
            o.client_order_id,
            o.account,
            o.side.value,
            o.symbol,
            f"{o.quantity:g}",
            f"{i.filled_quantity:g}",
            price,
            i.state.value,
            i.reason,
        )
    return table


def _venue_prices(
    prices: str, plan_as_of: Any, symbols: list[str], max_age: int
) -> dict[str, float]:
    from poise.data import latest_prices
    from poise.io import read_prices

    table = read_prices(prices)
    return latest_prices(table, plan_as_of, symbols, max_age_days=max_age, source=prices)


def _finish(intents: list[Intent]) -> None:
    open_ = [i for i in intents if not i.state.ended]
    refused = [i for i in intents if i.state.value in ("rejected", "cancelled", "expired")]
    for i in refused:  # on stderr: stdout may be the --json object
        text = escape(f"{i.client_order_id} {i.order.symbol}: {i.reason}")
        err_console.print(f"[yellow]{i.state.value}:[/] {text}")
    if open_:
        names = ", ".join(f"{i.client_order_id} ({i.state.value})" for i in open_)
        raise BrokerError(
            f"{len(open_)} order(s) not finished: {names}; run poise orders recover "
            "(an order in state unknown needs a look at the broker first)"
        )


def _check_limits(
    cash_reserve: float,
    min_notional: float,
    max_order_value: float | None,
    buffer_bps: float | None,
) -> None:
    """Refuse limits that would let buys spend cash the account does not have."""
    if cash_reserve < 0:
        raise InputError(f"must be zero or more, got {cash_reserve:g}", field="--cash-reserve")
    if min_notional < 0:
        raise InputError(f"must be zero or more, got {min_notional:g}", field="--min-notional")
    if max_order_value is not None and max_order_value <= 0:
        raise InputError(
            f"must be a positive amount, got {max_order_value:g}", field="--max-order-value"
        )
    if buffer_bps is not None and not 0 <= buffer_bps <= 10_000:
        raise InputError(
            f"must be between 0 and 10,000 basis points, got {buffer_bps:g}",
            field="--price-buffer-bps",
        )


@orders_app.command("submit")
def submit(
    plan: Path = typer.Argument(..., help="Plan JSON (the output of poise rebalance --json)."),
    broker: str = typer.Option(..., "--broker", help="paper | alpaca."),
    prices: str | None = typer.Option(
        None, "--prices", help="Prices the paper venue fills at (default: the plan's)."
    ),
    account: str | None = typer.Option(
        None, "--account", help="Send only this household account's trades."
    ),
    live: bool = typer.Option(False, "--live", help="Alpaca: trade the live account."),
    yes: bool = typer.Option(False, "--yes", help="With --live: do not ask for confirmation."),
    max_price_age: int = typer.Option(
        5, "--max-price-age", min=0, help="Refuse a --prices price older than this many days."
    ),
    cash_reserve: float = typer.Option(
        0.0,
        "--cash-reserve",
        parser=number,
        help="Cash left in each account (buys are sized to keep it).",
    ),
    min_notional: float = typer.Option(
        1.0, "--min-notional", parser=number, help="Smallest order value."
    ),
    max_order_value: float | None = typer.Option(
        None, "--max-order-value", parser=number, help="Refuse orders worth more than this."
    ),
    restricted: str = typer.Option("", "--restricted", help="Symbols never to trade (SYM,...)."),
    buffer_bps: float | None = typer.Option(
        None,
        "--price-buffer-bps",
        parser=number,
        help="Headroom on prices when sizing buys to the cash (default: the paper venue's "
        "slippage; 50 for Alpaca).",
    ),
    transactions: Path | None = typer.Option(
        None, "--transactions", help="Recent trades CSV: no buy washes a recent loss sale."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the orders as JSON."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Send a plan's orders (sells first), wait for their fills and record them; run again or
    use ``poise orders recover`` after a crash: nothing is ever sent twice."""
    from poise.execute import PreTradeRules, orders_for_trades, plan_digest
    from poise.io import read_plan, read_transactions
    from poise.report import intent_to_dict

    if broker not in _BROKERS:
        raise InputError(f"unknown broker {broker!r}; use paper | alpaca", field="--broker")
    if live and broker != "alpaca":
        raise InputError("--live is for --broker alpaca", field="--live")
    _check_limits(cash_reserve, min_notional, max_order_value, buffer_bps)
    plan_file = read_plan(plan)
    digest = plan_digest(plan_file.data)
    trades = [t for t in plan_file.trades if account is None or t.account == account]
    if account is not None and not trades:
        raise InputError(f"the plan has no trades in account {account!r}", field="--account")
    venue_prices = None
    if prices is not None and broker != "paper":
        err_console.print("[yellow]note:[/] --prices sets the paper venue's prices; ignored")
    elif prices is not None:
        symbols = sorted({t.symbol for t in trades})
        venue_prices = _venue_prices(prices, plan_file.as_of, symbols, max_price_age)
    if live:
        console.print("[bold red]LIVE TRADING: real orders with real money[/]")
        if not yes and not typer.confirm("Send these orders to the live account?"):
            raise typer.Exit(1)
    store = _store(database_url)
    venue = _venue(broker, prices=venue_prices, live=live)
    if buffer_bps is None:
        slip = getattr(venue, "slippage_bps", None)
        buffer_bps = float(slip) if slip is not None else 50.0
    loss_sales: dict[str, date] = {}
    if transactions is not None:
        for tx in read_transactions(transactions):
            if tx.loss > 0:
                loss_sales[tx.symbol] = max(tx.date, loss_sales.get(tx.symbol, tx.date))
    rules = PreTradeRules(
        cash_reserve=cash_reserve,
        min_notional=min_notional,
        max_order_value=max_order_value,
        restricted=frozenset(s.strip() for s in restricted.split(",") if s.strip()),
        require_open_market=True,
        price_buffer_bps=buffer_bps,
        loss_sales=loss_sales,
    )
    sender = _sender(store, venue, rules)
    _recover(sender, store)
    orders = orders_for_trades(plan_file.trades, digest)
    mine = [o for o in orders if account is None or o.account == account]
    sender.add_plan(digest, digest, plan_file.as_of, mine, plan_file.holdings)
    intents = sender.run(digest)
    if json_out:
        print_json({"plan": digest, "orders": [intent_to_dict(i) for i in intents]})
    else:
        console.print(_intents_table(intents, f"Orders of plan {digest} at {venue.name}"))
    _finish(intents)


@orders_app.command("recover")
def recover(
    live: bool = typer.Option(False, "--live", help="Alpaca: the live account."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Look up at each venue every order that may have been sent, then finish every unfinished
    plan (the paper venue fills at the plans' prices). Only plans submitted from plan files:
    a service's plans in the same database are its sender's."""
    store = _store(database_url)
    unfinished = _open_intents(store)
    venues = sorted({i.venue for i in unfinished})
    plans_at = {v: sorted({i.plan for i in unfinished if i.venue == v}) for v in venues}
    left: list[Intent] = []
    for name in venues:
        sender = _sender(store, _venue(name, live=live))
        for plan in plans_at[name]:
            left.extend(sender.run(plan))  # looks the plan's orders up first
    touched = {p for plans in plans_at.values() for p in plans}
    intents = [i for i in store.intents() if i.plan in touched]
    console.print(_intents_table(intents, "Recovered orders") if intents else "Nothing to recover.")
    _finish(left)


@orders_app.command("list")
def list_orders(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Every order intent with its state and fills."""
    from poise.report import intent_to_dict

    intents = _store(database_url).intents()
    if json_out:
        print_json({"orders": [intent_to_dict(i) for i in intents]})
    else:
        console.print(_intents_table(intents, "Orders"))


@orders_app.command("fills")
def fills(
    csv_out: bool = typer.Option(False, "--csv", help="The transactions CSV (for --transactions)."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Recorded fills, in the transactions CSV format (date and price are the venue's)."""
    from poise.io import TRANSACTIONS_COLUMNS

    rows = _store(database_url).transactions()
    if csv_out:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TRANSACTIONS_COLUMNS)
        for t in rows:
            basis = "" if t.cost_basis is None else repr(round(t.cost_basis, 10))
            writer.writerow(
                [
                    t.date.isoformat(),
                    t.account,
                    t.symbol,
                    t.side.value,
                    repr(t.quantity),
                    repr(t.price),
                    basis,
                ]
            )
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title="Fills")
    for column in TRANSACTIONS_COLUMNS:
        table.add_column(column)
    for t in rows:
        basis = "" if t.cost_basis is None else f"{t.cost_basis:,.2f}"
        table.add_row(
            t.date.isoformat(),
            t.account,
            t.symbol,
            t.side.value,
            f"{t.quantity:g}",
            f"{t.price:,.4f}",
            basis,
        )
    console.print(table)


@orders_app.command("report")
def report(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Slippage against the decision price and latencies (sent → acknowledged → filled), per
    order, with p50/p95 per venue."""
    from poise.execute import order_figures, summarize
    from poise.report import order_report_to_dict

    intents = [i for i in _store(database_url).intents() if i.sent_at is not None]
    figures = [order_figures(i) for i in intents]
    summaries = summarize(figures)
    if json_out:
        print_json(order_report_to_dict(figures, summaries))
        return
    table = Table(title="Execution quality")
    for column in (
        "order",
        "side",
        "symbol",
        "reference",
        "fill",
        "slippage bps",
        "sent→ack ms",
        "ack→fill ms",
    ):
        table.add_column(
            column, justify="left" if column in {"order", "side", "symbol"} else "right"
        )

    def fmt(value: float | None, spec: str) -> str:
        return "" if value is None else format(value, spec)

    for f in figures:
        o = f.intent.order
        table.add_row(
            o.client_order_id,
            o.side.value,
            o.symbol,
            fmt(o.reference_price, ",.4f"),
            fmt(f.fill_price, ",.4f"),
            fmt(f.slippage_bps, ".2f"),
            fmt(f.sent_to_ack_ms, ".1f"),
            fmt(f.ack_to_fill_ms, ".1f"),
        )
    console.print(table)
    for s in summaries:
        parts = [
            f"{name} p50 {fmt(s.p50[name], '.2f')} p95 {fmt(s.p95[name], '.2f')}" for name in s.p50
        ]
        console.print(f"{s.venue}: {s.filled}/{s.orders} filled · " + " · ".join(parts))


@orders_app.command("cancel-all")
def cancel_all(
    live: bool = typer.Option(False, "--live", help="Alpaca: the live account."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """The kill switch: cancel every open order at every venue and every unsent order of the
    plans submitted from plan files (a service's plans: its own cancel-all)."""
    store = _store(database_url)
    unfinished = _open_intents(store)
    count = 0
    for name in sorted({i.venue for i in unfinished}):
        plans = {i.plan for i in unfinished if i.venue == name}
        count += _sender(store, _venue(name, live=live)).cancel_all(plans)
    console.print(f"cancelled {count} order(s)")


@paper_app.command("orders")
def paper_orders(
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The paper venue's orders: id, symbol, side, quantity, filled quantity, status."""
    from poise.broker import PaperVenue, paper_url
    from poise.report import venue_order_to_dict
    from poise.store import poise_home

    venue = PaperVenue(paper_url(poise_home()))
    rows = [venue_order_to_dict(o) for o in venue.orders()]
    if json_out:
        print_json(rows)
        return
    table = Table(title="Paper venue orders")
    for column in ("client_order_id", "symbol", "side", "quantity", "filled_quantity", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
