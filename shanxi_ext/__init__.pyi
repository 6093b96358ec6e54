# Type stubs of the shanxi package (PEP 561).

import datetime
from collections.abc import Mapping
from typing import Any, Literal, SupportsIndex, overload

from numpy import datetime64
from pandas import DataFrame
from typing_extensions import TypeAlias, disjoint_base

from ._shanxi import Dataset as Dataset
from ._shanxi import Metric as Metric
from ._shanxi import ParseError as ParseError
from ._shanxi import ParseWarning as ParseWarning
from ._shanxi import Partial as Partial
from ._shanxi import Project as Project
from ._shanxi import _BinaryFile, _FigureDict, _Path
from ._shanxi import data as data
from ._shanxi import load as load
from ._shanxi import loads as loads

__version__: str
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
SOURCE: Mapping[str, str]

@disjoint_base
class Figures(tuple[Metric, ...]):
    """What metrics() and search() return: a tuple that shows as a table in a notebook."""

    def _repr_html_(self) -> str: ...

_ProjectKey: TypeAlias = SupportsIndex | str | Project
_Date: TypeAlias = datetime.date | datetime64 | str
_Func: TypeAlias = Literal["sum", "count", "mean", "min", "max"]
_Number: TypeAlias = int | float
# aggregate(by=...): one grouping, or a tuple of them (tuple keys, a part each)
_By: TypeAlias = Literal["project", "metric", "category", "unit", "region", "as_of", "month"]
_KeyPart: TypeAlias = int | str | datetime.date | None

# The module-level functions are shanxi.data's bound methods.
def projects() -> tuple[Project, ...]: ...
def project(key: _ProjectKey, /) -> Project: ...
def metrics(
    *,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> Figures: ...
def metric(key: str, /) -> Metric: ...
def search(text: str, /) -> Figures: ...
@overload
def aggregate(
    func: Literal["count"],
    *,
    by: None = None,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> int: ...
@overload
def aggregate(
    func: Literal["mean"],
    *,
    by: None = None,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> float: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: None = None,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> _Number: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: Literal["project"],
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> dict[int, _Number]: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: Literal["as_of"],
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> dict[datetime.date, _Number]: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: Literal["metric", "unit", "month"],
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> dict[str, _Number]: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: Literal["category", "region"],
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> dict[str | None, _Number]: ...
@overload
def aggregate(
    func: _Func = "sum",
    *,
    by: tuple[_By, ...],
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> dict[tuple[_KeyPart, ...], _Number]: ...
def total(
    unit: str,
    *,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> _Number: ...
def share(key: str, /) -> float: ...
def to_frame(kind: Literal["metrics", "projects"] = "metrics") -> DataFrame: ...
def to_dicts() -> list[_FigureDict]: ...

# Files aggregated in chunks, without building their table (_bounded.py).
_Paths: TypeAlias = _Path | list[_Path] | tuple[_Path, ...] | _BinaryFile

def partial_files(
    paths: _Paths,
    func: _Func = "sum",
    *,
    by: _By | tuple[_By, ...] | None = None,
    chunk_size: SupportsIndex | None = None,
    encoding: str | None = None,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> Partial: ...
def aggregate_files(
    paths: _Paths,
    func: _Func = "sum",
    *,
    by: _By | tuple[_By, ...] | None = None,
    chunk_size: SupportsIndex | None = None,
    encoding: str | None = None,
    project: _ProjectKey | None = None,
    metric: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    region: str | None = None,
    since: _Date | None = None,
    until: _Date | None = None,
) -> Any: ...
