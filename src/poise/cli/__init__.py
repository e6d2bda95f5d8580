"""The ``poise`` command line. Every command is a thin door onto the one engine.

Adding a command (keep ``poise --help`` and ``poise --version`` within 0.3 s):

1. Write ``cli/_name.py``: ``from poise.cli._app import app`` and declare
   ``@app.command()`` (or a sub-app with ``app.add_typer``). At module level import only
   ``typer``, ``rich``, the standard library and the light ``poise.cli`` helpers
   (``_app``, ``_options``, ``_progress``); put engine types used in annotations under
   ``if TYPE_CHECKING:``.
2. Import everything else inside the command function, where it runs: ``poise.app`` (the use
   case), ``poise.io`` (readers), ``poise.report`` (JSON), door extras (FastAPI, SQLAlchemy,
   Dask). ``import poise.cli`` must not import pandas, numpy, skfolio, cvxpy or the extras
   (``tests/cli/test_startup.py`` checks it; ``benchmarks/startup.py`` times it).
3. Flags -> request -> ``poise.app`` -> render: build the typed request, wrap the call in
   ``flag_errors(REQUEST_FLAGS)`` so engine errors name the flags, print with ``print_json``
   of a ``poise.report`` dict or a rich table.
4. Add the module to the import list below (that registers it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from poise._errors import DataError, InputError, PoiseError
from poise.cli import (  # noqa: F401  (register the commands)
    _admin,
    _attribution,
    _audit,
    _backtest,
    _batch,
    _compare,
    _db,
    _demo,
    _feeds,
    _harvest,
    _optimize,
    _orders,
    _profile,
    _rebalance,
    _serve,
    _stress,
)
from poise.cli._app import app

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 internal failure).

    Usage errors (unknown option, missing argument) are typer's and exit 2 too.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="poise")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (InputError, DataError) as exc:
        sys.stderr.write(f"poise: error: {exc}\n")
        return 2
    except PoiseError as exc:
        sys.stderr.write(f"poise: failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("poise: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
