"""``poise profile``: the risk questionnaire, its score and split, and a goal glide path."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from poise._errors import InputError
from poise.cli._app import app, console, parse_date_option, print_json

if TYPE_CHECKING:
    from poise.allocate import RiskProfile

__all__ = ["profile"]


def _read_toml(path: Path) -> dict[str, Any]:
    from poise.io._text import read_text_file

    src = str(path)
    try:
        return tomllib.loads(read_text_file(path, "TOML"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=src) from None


def _ask() -> RiskProfile:
    """Ask each question in the terminal (a number per answer)."""
    from poise.allocate import QUESTIONS, profile_from_answers

    answers: dict[str, str] = {}
    for i, q in enumerate(QUESTIONS, start=1):
        console.print(f"\n[bold]{i}. {q.text}[/]")
        for j, c in enumerate(q.choices, start=1):
            console.print(f"   {j}) {c.label}")
        while True:
            number = typer.prompt(f"Your answer (1-{len(q.choices)})", type=int)
            if 1 <= number <= len(q.choices):
                break
            console.print(f"[red]Choose a number from 1 to {len(q.choices)}.[/]")
        answers[q.key] = q.choices[number - 1].key
    return profile_from_answers(answers)


def _answers_toml(profile: RiskProfile) -> str:
    lines = ["[risk_profile]"]
    if profile.answers:
        lines += [f'{k} = "{v}"' for k, v in profile.answers.items()]
    else:
        lines.append(f"score = {profile.score:g}")
    return "\n".join(lines) + "\n"


@app.command()
def profile(
    answers: Path | None = typer.Option(
        None,
        "--answers",
        help="Answers TOML ([risk_profile] table); asked in the terminal if absent.",
    ),
    household: Path | None = typer.Option(
        None, "--household", help="Household TOML: its [risk_profile] and [[goals]] glide path."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Glide path start (default today)."),
    years: int | None = typer.Option(
        None, "--years", help="Years of glide path to show (default: to the last goal + 1)."
    ),
    save: Path | None = typer.Option(None, "--save", help="Write the answers to this TOML."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score the risk questionnaire: risk score (0-100) → growth/defensive split, and show how a
    household's goals de-risk it over time (glide path)."""
    from poise.allocate import (
        BANDS,
        GlidePathAllocation,
        goals_from_list,
        risk_profile_from_table,
    )
    from poise.io import read_household, write_text_atomic

    start = parse_date_option(as_of, "--as-of") or date.today()
    data = _read_toml(household) if household is not None else {}
    hh = read_household(household) if household is not None else None
    if answers is not None:
        raw = _read_toml(answers)
        table = raw.get("risk_profile", raw)
        result = risk_profile_from_table(table, str(answers))
    elif "risk_profile" in data:
        result = risk_profile_from_table(data["risk_profile"], str(household))
    elif json_out:
        raise InputError(
            "give --answers FILE (or a --household with [risk_profile]); the questionnaire "
            "is only asked interactively without --json",
            field="--answers",
        )
    else:
        try:
            result = _ask()
        except (typer.Abort, EOFError):
            raise InputError(
                "the questionnaire was not completed; answer every question or give --answers FILE",
                field="--answers",
            ) from None
    if save is not None:
        write_text_atomic(save, _answers_toml(result))

    allocation = hh.allocation if hh is not None else None
    goals = goals_from_list(data["goals"], str(household)) if "goals" in data else ()
    if isinstance(allocation, GlidePathAllocation):
        glide = allocation
    else:
        glide = GlidePathAllocation(
            growth={"growth": 1.0},
            defensive={"defensive": 1.0},
            max_growth=result.growth_share,
            goals=goals,
            profile=result,
        )
    schedule: list[tuple[date, float]] = []
    if goals:
        last = max(g.target_date for g in goals)
        span = years if years is not None else max(0, last.year - start.year + 1)
        schedule = glide.schedule(start, span)
    elif years is not None:
        schedule = glide.schedule(start, years)

    if json_out:
        from poise.report import profile_to_dict

        own = allocation if isinstance(allocation, GlidePathAllocation) else None
        print_json(profile_to_dict(result, goals, schedule, own))
        return
    console.print(
        f"Risk score [bold]{result.score:g}[/] / 100: {result.band} → "
        f"{result.growth_share:.0%} growth, {result.defensive_share:.0%} defensive"
    )
    bands = ", ".join(f"≤{b.high:g}: {b.growth_share:.0%}" for b in BANDS)
    console.print(f"  (score bands → growth share: {bands})")
    if schedule:
        table = Table(title="Glide path")
        table.add_column("date")
        table.add_column("growth", justify="right")
        table.add_column("defensive", justify="right")
        for d, share in schedule:
            table.add_row(d.isoformat(), f"{share:.1%}", f"{1 - share:.1%}")
        console.print(table)
    if save is not None:
        console.print(f"Answers saved to {escape(str(save))}")
