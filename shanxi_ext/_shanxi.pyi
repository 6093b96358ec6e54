# Type stubs of shanxi._shanxi, the C extension (PEP 561).

import datetime
import os
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol, SupportsIndex, TypedDict, final, overload

from _typeshed import ReadableBuffer

# The DataFrame type when pandas is installed (Any for type checkers without it).
# numpy.datetime64 likewise (dates may be one).
from numpy import datetime64
from pandas import DataFrame
from typing_extensions import TypeAlias

# metrics() and search() return this tuple subclass (defined in the package)
from shanxi import Figures

# A date argument: a date or datetime (pandas.Timestamp is one), a numpy.datetime64
# of days or finer, or 'YYYY-MM-DD'.
_Date: TypeAlias = datetime.date | datetime64 | str
_Func: TypeAlias = Literal["sum", "count", "mean", "min", "max"]
_Number: TypeAlias = int | float
# aggregate(by=...): one grouping, or a tuple of them (tuple keys, a part each)
_By: TypeAlias = Literal["project", "metric", "category", "unit", "region", "as_of", "month"]
_KeyPart: TypeAlias = int | str | datetime.date | None

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
    share: float | None

class ParseError(ValueError):
    # Malformed input to load/loads: where (source, line, column) and why (reason).
    source: str
    line: int
    column: int
    reason: str

class ParseWarning(UserWarning):
    # A header field that looks like a slip for an absent optional column.
    ...

@final
class Metric:
    def __new__(
        cls,
        key: str,
        project: SupportsIndex,
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
        number: SupportsIndex,
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
    def metrics(self) -> Figures: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def _repr_html_(self) -> str: ...

# A project by number (anything with __index__ but a bool: numpy integers too), key,
# title word or Project.
_ProjectKey: TypeAlias = SupportsIndex | str | Project

@final
class Dataset:
    @property
    def source(self) -> str | tuple[str, ...]: ...
    # What is in it, from the dictionaries (no object per row), made once:
    @property
    def nrows(self) -> int: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def metric_keys(self) -> tuple[str, ...]: ...
    @property
    def units(self) -> tuple[str, ...]: ...
    @property
    def regions(self) -> tuple[str | None, ...]: ...
    @property
    def categories(self) -> tuple[str | None, ...]: ...
    @property
    def ignored_columns(self) -> tuple[str, ...]: ...
    @property
    def date_range(self) -> tuple[datetime.date, datetime.date] | None: ...
    @overload
    def unique(self, column: Literal["project"], /) -> tuple[int, ...]: ...
    @overload
    def unique(
        self,
        column: Literal[
            "metric", "unit", "category", "region", "label", "part_of", "project_key",
            "project_title",
        ],
        /,
    ) -> tuple[str | None, ...]: ...
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
    ) -> Figures: ...
    def metric(self, key: str, /) -> Metric: ...
    def search(self, text: str, /) -> Figures: ...
    def partial(
        self,
        func: _Func = "sum",
        *,
        by: _By | tuple[_By, ...] | None = None,
        seq: int = 0,
        project: _ProjectKey | None = None,
        metric: str | None = None,
        unit: str | None = None,
        category: str | None = None,
        region: str | None = None,
        since: _Date | None = None,
        until: _Date | None = None,
    ) -> Partial: ...
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
    @overload
    def aggregate(
        self,
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
    def _columns(self) -> dict[str, object]: ...

@final
class Partial:
    # An exact partial aggregate (Dataset.partial); immutable.
    @property
    def func(self) -> _Func: ...
    @property
    def by(self) -> _By | tuple[_By, ...] | None: ...
    @property
    def rows(self) -> int: ...
    def merge(self, other: Partial, /) -> Partial: ...
    @classmethod
    def merge_all(cls, partials: Iterable[Partial], /) -> Partial: ...
    def result(self) -> Any: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, blob: ReadableBuffer, /) -> Partial: ...
    def __len__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

data: Dataset

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]

class _BinaryFile(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

def load(
    path: _Path | list[_Path] | tuple[_Path, ...] | _BinaryFile,
    /,
    *,
    encoding: str | None = None,
    threads: SupportsIndex | None = None,
) -> Dataset: ...
def loads(text: str | ReadableBuffer, /, *, encoding: str | None = None) -> Dataset: ...
