"""poise's exception tree.

::

    PoiseError
    ├── InputError (also ValueError)   bad user input: names the file, the field and the fix
    ├── DataError                      prices or other market data unusable for the request
    ├── PlanningError                  a plan or optimisation could not be made
    └── BrokerError                    a broker refused or failed an order

Every door (CLI, service, batch) turns ``InputError`` and ``DataError`` into exit code 2 with
the message alone, and any other error into exit code 1.
"""

from __future__ import annotations

__all__ = ["BrokerError", "DataError", "InputError", "PlanningError", "PoiseError"]


class PoiseError(Exception):
    """Root of every error poise raises on purpose."""


class InputError(PoiseError, ValueError):
    """Bad user input.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    source : str, optional
        The file (or other input) the problem is in; prefixed to the message.
    field : str, optional
        The key, column or line the problem is at.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.message = message
        self.source = source
        self.field = field
        where = ""
        if source and field:
            where = f"{source}: {field}: "
        elif source:
            where = f"{source}: "
        elif field:
            where = f"{field}: "
        super().__init__(where + message)

    def renamed(self, names: dict[str, str]) -> InputError:
        """The same error with its field renamed through ``names`` (a door maps a request
        field such as ``withdraw.amount`` to its own name: a flag or a JSON path).

        Other parameters the message refers to are written in backticks (``raise `years```);
        those in ``names`` are renamed too."""
        field = names.get(self.field, self.field) if self.field is not None else None
        message = self.message
        if "`" in message:
            for key, name in names.items():
                message = message.replace(f"`{key}`", name)
        if field == self.field and message == self.message:
            return self
        return InputError(message, source=self.source, field=field)


class DataError(PoiseError, ValueError):
    """Market data (prices, returns) that cannot serve the request.

    Parameters the message refers to are written in backticks; :meth:`renamed` gives the
    door's names to them.
    """

    def renamed(self, names: dict[str, str]) -> DataError:
        """The same error with the parameters its message names (in backticks) renamed."""
        message = str(self)
        if "`" in message:
            for key, name in names.items():
                message = message.replace(f"`{key}`", name)
        return self if message == str(self) else DataError(message)


class PlanningError(PoiseError):
    """A plan or an optimisation could not be produced."""


class BrokerError(PoiseError):
    """A broker refused or failed an order."""
