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
``Dataset`` with the same methods (``load`` also takes a list of paths, a
directory or a glob pattern, read as one dataset).  ``python -m shanxi`` prints the data.
"""
from . import _shanxi
from ._bounded import aggregate_files, partial_files
from ._shanxi import (
    Dataset,
    Metric,
    ParseError,
    ParseWarning,
    Partial,
    Project,
    data,
    load,
    loads,
)


# What Dataset.to_frame() and the _repr_html_ methods call, handed to the
# extension once here (it never imports Python modules by name).  The
# helpers' modules are imported on the first call: pandas support and HTML
# cost nothing until asked for.
def _frame_of(ds, kind):
    from ._frame import to_frame

    return to_frame(ds, kind)


def _html_of(obj):
    from ._render import html

    return html(obj)


def _paths_of(arg):
    from ._paths import paths

    return paths(arg)


def _chunks_of(source, encoding, name):
    from ._sources import chunks

    return chunks(source, encoding, name)


def _hint_of(head):
    from ._sources import hint

    return hint(head)


def _expanduser(path):
    from os.path import expanduser

    return expanduser(path)


class Figures(tuple):
    """A tuple of Metric, as metrics() and search() return it.

    It is a tuple in every way (it compares equal to a tuple of the same
    figures, pickles, slices to plain tuples) that also shows as a table
    in a notebook.  One a dataset made, holding a part of some whole,
    carries each figure's share from the dataset's share column
    (``_shares``, doubles, NaN for none).
    """

    def __reduce__(self):
        # a plain tuple's worth: the shares are the dataset's to recompute
        return (Figures, (tuple(self),))

    def _repr_html_(self):
        from ._render import html

        return html(self)



_shanxi._register(frame=_frame_of, html=_html_of, figures=Figures, chunks=_chunks_of, hint=_hint_of,
                  expanduser=_expanduser, paths=_paths_of)

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
    "Figures",
    "Metric",
    "ParseError",
    "ParseWarning",
    "Partial",
    "Project",
    "SOURCE",
    "__version__",
    "aggregate",
    "aggregate_files",
    "data",
    "load",
    "loads",
    "metric",
    "metrics",
    "partial_files",
    "project",
    "projects",
    "search",
    "share",
    "to_dicts",
    "to_frame",
    "total",
]
