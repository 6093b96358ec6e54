"""The peers, each asked for the typed table shanxi builds: an int32
project, a float64 value, real dates and dictionary-encoded text (pandas
categoricals, pyarrow dictionaries, polars Categoricals; DuckDB VARCHAR in a
table of its own, its nearest).  loader() loads a file, aggregator() and
aggregator_keys() run the same grouped sums on what it loaded."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import panelgen  # noqa: E402

AGG_UNIT = "people"          # the unit of aggregate("sum", by=..., unit=...)
PEERS_LOAD = ("pandas", "pyarrow", "polars", "duckdb")
PEERS_AGG = ("pandas", "polars", "duckdb")
DATES = ("as_of", "period_start")
NUMBERS = {"project": "int", "value": "float"}


def kind(column):
    """int, float, date or text: the type of a column of the data/ format."""
    return NUMBERS.get(column) or ("date" if column in DATES else "text")


def loader(lib, path, columns=panelgen.SHORT_COLUMNS, threads=None):
    """A zero-argument callable loading path (a file with these columns)
    with lib into its native table."""
    kinds = {c: kind(c) for c in columns}
    if lib == "shanxi":
        import shanxi
        if threads is None:
            return lambda: shanxi.load(path)
        return lambda: shanxi.load(path, threads=threads)
    if lib == "pandas":
        import pandas as pd
        names = {"int": "int32", "float": "float64", "text": "category"}
        dtype = {c: names[k] for c, k in kinds.items() if k != "date"}
        dates = [c for c, k in kinds.items() if k == "date"]
        return lambda: pd.read_csv(path, dtype=dtype, parse_dates=dates,
                                   date_format="%Y-%m-%d")
    if lib == "pyarrow":
        import pyarrow as pa
        import pyarrow.csv as pc
        names = {"int": pa.int32(), "float": pa.float64(), "date": pa.date32(),
                 "text": pa.dictionary(pa.int32(), pa.string())}
        opts = pc.ConvertOptions(column_types={c: names[k] for c, k in kinds.items()})
        return lambda: pc.read_csv(path, convert_options=opts)
    if lib == "polars":
        import polars as pl
        names = {"int": pl.Int32, "float": pl.Float64, "date": pl.Date, "text": pl.Categorical}
        schema = {c: names[k] for c, k in kinds.items()}
        return lambda: pl.read_csv(path, schema_overrides=schema)
    if lib == "duckdb":
        import duckdb
        names = {"int": "INTEGER", "float": "DOUBLE", "date": "DATE", "text": "VARCHAR"}
        spec = ", ".join("'%s': '%s'" % (c, names[k]) for c, k in kinds.items())
        sql = "CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, columns={%s})" % spec

        def load_duckdb():
            con = duckdb.connect()          # its default threads: every core
            con.execute(sql, [path])
            return con
        return load_duckdb
    raise ValueError(lib)


def aggregator(lib, obj):
    """A zero-argument callable computing sum(value) by project where unit is
    AGG_UNIT, and a function turning its result into {project: float}."""
    u = AGG_UNIT
    if lib == "shanxi":
        return (lambda: obj.aggregate("sum", by="project", unit=u),
                lambda r: {k: float(v) for k, v in r.items()})
    if lib == "pandas":
        return (lambda: obj.loc[obj["unit"] == u].groupby("project")["value"].sum(),
                lambda r: {int(k): float(v) for k, v in r.items()})
    if lib == "polars":
        import polars as pl
        return (lambda: obj.filter(pl.col("unit") == u).group_by("project")
                .agg(pl.col("value").sum()).sort("project"),
                lambda r: {int(k): float(v) for k, v in r.iter_rows()})
    if lib == "duckdb":
        sql = ("SELECT project, sum(value) FROM t WHERE unit = '%s' "
               "GROUP BY project ORDER BY project" % u)
        return (lambda: obj.execute(sql).fetchall(),
                lambda r: {int(k): float(v) for k, v in r})
    raise ValueError(lib)


def aggregator_keys(lib, obj):
    """As aggregator, by two keys: sum(value) by region and month where unit is
    AGG_UNIT, each library computing the month from as_of in the query; the
    result as {(region, "YYYY-MM"): float}."""
    u = AGG_UNIT
    if lib == "shanxi":
        return (lambda: obj.aggregate("sum", by=("region", "month"), unit=u),
                lambda r: {k: float(v) for k, v in r.items()})
    if lib == "pandas":
        def pd_by_region_month():
            s = obj.loc[obj["unit"] == u]
            return s.groupby([s["region"], s["as_of"].dt.to_period("M")],
                             observed=True)["value"].sum()
        return (pd_by_region_month,
                lambda r: {(str(k[0]), str(k[1])): float(v) for k, v in r.items()})
    if lib == "polars":
        import polars as pl
        return (lambda: obj.filter(pl.col("unit") == u)
                .group_by(["region", pl.col("as_of").dt.truncate("1mo").alias("month")])
                .agg(pl.col("value").sum()).sort(["region", "month"]),
                lambda r: {(k, m.strftime("%Y-%m")): float(v) for k, m, v in r.iter_rows()})
    if lib == "duckdb":
        sql = ("SELECT region, date_trunc('month', as_of) AS m, sum(value) FROM t "
               "WHERE unit = '%s' GROUP BY region, m ORDER BY region, m" % u)
        return (lambda: obj.execute(sql).fetchall(),
                lambda r: {(k, m.strftime("%Y-%m")): float(v) for k, m, v in r})
    raise ValueError(lib)


def agree(a, b):
    if a.keys() != b.keys():
        return False
    return all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in a)


def table_bytes(ds):
    """A Dataset's own size: its columns and dictionaries as the load made
    them, read from the zero-copy Arrow export: each column's data buffers,
    each text column's codes and dictionary (strings and offsets; the codes
    of project_key and project_title too, which the table keeps per row and
    the export hands out as they are where no row left them empty), and the
    byte per row that says whether a value was written as an integer (a
    column of the table the export does not show).  Left out is what the
    export makes and the load does not: the share column, the validity
    bitmaps, and the columns the file lacks (the export shows them as one
    zero block)."""
    import pyarrow as pa
    table = pa.table(ds)
    total = table.num_rows          # is_int: one uint8 per row
    for name in table.column_names:
        if name == "share":
            continue
        for chunk in table.column(name).chunks:
            if len(chunk) and chunk.null_count == len(chunk):
                continue    # a column the file lacks: one shared zero block, not the table's
            if pa.types.is_dictionary(chunk.type):
                total += chunk.dictionary.get_total_buffer_size()
                chunk = chunk.indices
            total += sum(b.size for b in chunk.buffers()[1:] if b is not None)
    return total
