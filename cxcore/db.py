"""Set-based writes shared by the ground-floor apps: many rows, few round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from django.db import connection


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def select_where_in(
    model, columns: Sequence[str], *, equals: dict, column: str, values: Sequence, chunk=5000
) -> Iterator[tuple]:
    """Rows (tuples of `columns`) of `model` where `equals` holds and `column` is in `values`.

    For lookups of thousands of keys at once. Thousands of `%s` placeholders cost more to build
    and parse than the lookup itself, so on PostgreSQL the list goes as one array parameter
    (`= ANY(%s)`); SQLite has no arrays and keeps IN, in chunks.
    """
    quote = connection.ops.quote_name
    selected = ", ".join(quote(c) for c in columns)
    fixed = " AND ".join(f"{quote(name)} = %s" for name in equals)
    for start in range(0, len(values), chunk):
        part = list(values[start : start + chunk])
        if is_postgresql():
            condition, params = f"{quote(column)} = ANY(%s)", [part]
        else:
            condition, params = f"{quote(column)} IN ({', '.join(['%s'] * len(part))})", part
        where = f"{fixed} AND {condition}" if fixed else condition
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {selected} FROM {quote(model._meta.db_table)} WHERE {where}",  # noqa: S608 - names are ours, values are parameters
                [*equals.values(), *params],
            )
            yield from cursor.fetchall()


def insert_rows(model, columns: Sequence[str], rows: Sequence[tuple]) -> list[int]:
    """Insert rows (tuples in `columns` order, attnames) and return their new ids, in order.

    On PostgreSQL the ids are taken from the sequence in one query and the rows go in by COPY,
    which is several times faster than multi-row INSERT; elsewhere bulk_create does the work.
    Must run inside the caller's transaction so that a failure leaves nothing behind.
    """
    if not rows:
        return []
    if is_postgresql():
        return _copy_rows(model, columns, rows)
    objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=2000)
    return [obj.pk for obj in objs]


def _copy_rows(model, columns, rows) -> list[int]:
    table = model._meta.db_table
    json_columns = {
        f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"
    }
    json_positions = [i for i, c in enumerate(columns) if c in json_columns]
    quoted = ", ".join(connection.ops.quote_name(c) for c in ["id", *columns])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        # Translate psycopg's errors into Django's (IntegrityError…), as the ORM would.
        with (
            connection.wrap_database_errors,
            raw.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy,
        ):
            if json_positions:
                for new_id, row in zip(ids, rows, strict=True):
                    values = list(row)
                    for i in json_positions:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    copy.write_row((new_id, *values))
            else:
                for new_id, row in zip(ids, rows, strict=True):
                    copy.write_row((new_id, *row))
    return ids
