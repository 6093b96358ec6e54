# Type stubs of shanxi._shanxi, the C extension (PEP 561).

import datetime
import os
from collections.abc import Iterable, Iterator
from typing import Any, Literal, TypedDict, final, overload

from _typeshed import ReadableBuffer

# The DataFrame type when pandas is installed (Any for type checkers without it).
from pandas import DataFrame
from typing_extensions import TypeAlias

_Date: TypeAlias = datetime.date | str
_Func: TypeAlias = Literal["sum", "count", "mean", "min", "max"]
_Number: TypeAlias = int | float

class _FigureDict(TypedDict):
    project: int
    project_key: str | None
    project_title: str | None
    category: str | None
    metric: str
    label: str | None
    value: int | float
    unit: str
    as_of: datetime.date
    period_start: datetime.date | None
    part_of: str | None
    region: str | None

class ParseError(ValueError):
    # Malformed input to load/loads: where (source, line, column) and why (reason).
    source: str
    line: int
    column: int
    reason: str

@final
class Metric:
    def __new__(
        cls,
        key: str,
        project: int,
        value: int | float,
        unit: str,
        as_of: _Date,
        label: str | None = None,
        part_of: str | None = None,
        region: str | None = None,
        category: str | None = None,
        period_start: _Date | None = None,
    ) -> Metric: ...
    @property
    def key(self) -> str: ...
    @property
    def project(self) -> int: ...
    @property
    def label(self) -> str | None: ...
    @property
    def value(self) -> int | float: ...
    @property
    def unit(self) -> str: ...
    @property
    def as_of(self) -> datetime.date: ...
    @property
    def period_start(self) -> datetime.date | None: ...
    @property
    def part_of(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def _repr_html_(self) -> str: ...

@final
class Project:
    def __new__(
        cls,
        number: int,
        key: str | None = None,
        title: str | None = None,
        category: str | None = None,
        as_of: _Date | None = None,
        metrics: Iterable[Metric] = ...,
    ) -> Project: ...
    @property
    def number(self) -> int: ...
    @property
    def key(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def as_of(self) -> datetime.date | None: ...
    @property
    def metrics(self) -> tuple[Metric, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def _repr_html_(self) -> str: ...

_ProjectKey: TypeAlias = int | str | Project

@final
class Dataset:
    @property
    def source(self) -> str: ...
    def projects(self) -> tuple[Project, ...]: ...
    def project(self, key: _ProjectKey, /) -> Project: ...
    def metrics(
        self,
        *,
        project: _ProjectKey | None = None,
        metric: str | None = None,
        unit: str | None = None,
        category: str | None = None,
        region: str | None = None,
        since: _Date | None = None,
        until: _Date | None = None,
    ) -> tuple[Metric, ...]: ...
    def metric(self, key: str, /) -> Metric: ...
    def search(self, text: str, /) -> tuple[Metric, ...]: ...
    @overload
    def aggregate(
        self,
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
        self,
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
        self,
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
        self,
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
        self,
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
        self,
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
        self,
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
    def total(
        self,
        unit: str,
        *,
        project: _ProjectKey | None = None,
        metric: str | None = None,
        category: str | None = None,
        region: str | None = None,
        since: _Date | None = None,
        until: _Date | None = None,
    ) -> _Number: ...
    def share(self, key: str, /) -> float: ...
    def to_frame(self, kind: Literal["metrics", "projects"] = "metrics") -> DataFrame: ...
    def to_dicts(self) -> list[_FigureDict]: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Metric]: ...
    def __getitem__(self, key: str, /) -> Metric: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __reduce__(self) -> str: ...
    def _repr_html_(self) -> str: ...
    def _ipython_key_completions_(self) -> list[str]: ...

data: Dataset

def load(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], /) -> Dataset: ...
def loads(text: str | ReadableBuffer, /) -> Dataset: ...
