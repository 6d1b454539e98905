"""Model instances from hand-written SQL, for the few statements a judge's every page runs.

``Model.objects.raw`` works out, for every query, which columns came back and how to
convert each; under load that bookkeeping cost more CPU than the database spent on the
statement. Here it is done once per column list: ``RowShape`` names the columns (in
the model's field order, as ``Model.from_db`` wants them), writes the SQL list of them,
and turns a row into an instance with the ORM's own converters applied (JSON text to
objects; on SQLite, text to datetimes). Columns left out are deferred as usual.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


class RowShape:
    def __init__(self, model: type[Model], names: Sequence[str] | None = None):
        wanted = set(names) if names is not None else None
        self.model = model
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if wanted is None or f.attname in wanted or f.name in wanted
        ]
        if wanted is not None and len(self.fields) != len(wanted):
            known = {f.attname for f in self.fields} | {f.name for f in self.fields}
            raise ValueError(f"{model.__name__} has no column {sorted(wanted - known)}")
        self.names = [f.attname for f in self.fields]
        self._converters: dict[str, list] = {}

    def columns(self, alias: str = "") -> str:
        """The SQL column list, ``alias.column`` when an alias is given."""
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + connection.ops.quote_name(f.column) for f in self.fields)

    def load(self, row: Sequence) -> Model:
        """An instance of the model from ``row`` (the first ``len(names)`` values)."""
        values = list(row[: len(self.fields)])
        for i, functions, column in self._converters_for(connection.vendor):
            for function in functions:
                values[i] = function(values[i], column, connection)
        return self.model.from_db(connection.alias, self.names, values)

    def _converters_for(self, vendor: str) -> list:
        if vendor not in self._converters:
            table = self.model._meta.db_table
            found = []
            for i, field in enumerate(self.fields):
                column = field.get_col(table)
                functions = connection.ops.get_db_converters(column) + field.get_db_converters(
                    connection
                )
                if functions:
                    found.append((i, functions, column))
            self._converters[vendor] = found
        return self._converters[vendor]
