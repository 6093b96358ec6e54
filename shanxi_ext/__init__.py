"""The twelve livelihood projects Shanxi province reported on for 2022.

The figures are compiled into the extension and parsed into native C columns
at import; nothing is read from disk and nothing heavy is imported.

A short tour::

    >>> import shanxi
    >>> p = shanxi.project(7)                # by number, key or a title word
    >>> p.title
    'Incentives for voluntary elevator installation in existing residences'
    >>> p is shanxi.project("elevator")
    True
    >>> shanxi.metric("elevators_completed").value
    519
    >>> round(shanxi.share("elevators_completed"), 4)   # 519 of 641 started
    0.8097
    >>> shanxi.total("CNY")                   # exact int; units never mix
    47230000
    >>> shanxi.aggregate("count", by="category")["health"]
    6
    >>> [m.key for m in shanxi.search("elevator")]
    ['elevators_started', 'elevators_completed']

``shanxi.metrics(...)`` filters by project, metric, unit, category, region and
an inclusive ``since``/``until`` date range; ``shanxi.to_frame()`` gives a
pandas DataFrame (pandas is optional); ``shanxi.load(path)`` and
``shanxi.loads(text)`` read your own CSV files in the same format into a
``Dataset`` with the same methods.  ``python -m shanxi`` prints the data.
"""
from ._shanxi import Dataset, Metric, ParseError, Project, data, load, loads

__version__ = "0.1.0"

# The module-level functions are the embedded dataset's own methods.
projects = data.projects
project = data.project
metrics = data.metrics
metric = data.metric
search = data.search
aggregate = data.aggregate
total = data.total
share = data.share
to_frame = data.to_frame
to_dicts = data.to_dicts

# type(type.__dict__) is types.MappingProxyType, without importing types.
SOURCE = type(type.__dict__)({
    "title": "Deeds benefit residents of Shanxi",
    "publisher": "China Daily",
    "updated": "2023-01-12",
    "description": (
        "A China Daily report on what the Shanxi provincial government achieved in 2022 "
        "on its twelve livelihood projects, from skills training and free health checks "
        "to elevators in older homes and safe school lunches."
    ),
})

__all__ = [
    "Dataset",
    "Metric",
    "ParseError",
    "Project",
    "SOURCE",
    "__version__",
    "aggregate",
    "data",
    "load",
    "loads",
    "metric",
    "metrics",
    "project",
    "projects",
    "search",
    "share",
    "to_dicts",
    "to_frame",
    "total",
]
