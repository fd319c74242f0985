"""The warehouse as a run uses it: opened once, on a worker thread that also does the commits.

Work is done in submission order on one thread. The embedded engine releases the interpreter lock
while it works, so importing pyiceberg, opening the catalog and committing (pure Python) overlap the
reading and the SQL. A spawned worker process was measured too: on two cores it pays the imports
twice, competes with the engine's threads for CPU, and was slower (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from stedi.errors import WarehouseError

if TYPE_CHECKING:
    import pyarrow as pa

    from stedi.warehouse.catalog import Warehouse
    from stedi.warehouse.rows import Rows
    from stedi.warehouse.writes import Commit


T = TypeVar("T")


class Session:
    """A warehouse opened on a worker thread (created when `create`), and the commits made there."""

    def __init__(self, location: str, catalog: str | None = None, *, create: bool = True) -> None:
        self.location = location
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stedi-warehouse")
        self._warehouse = self._pool.submit(_open, location, catalog, create)
        self.pending: dict[str, Future[Commit]] = {}
        self._failed: str | None = None

    @property
    def warehouse(self) -> Warehouse:
        return self._warehouse.result()

    def submit(self, name: str, data: Rows | pa.Table, **options: Any) -> None:
        """Commit `data` as table `name` (options as for `writes.write`), after the work before it."""
        from stedi.warehouse.writes import write

        def commit() -> Commit:
            if self._failed is not None:  # keep the previous snapshot of every table after a failure
                raise WarehouseError(f"table {name} was not committed: the commit of {self._failed} failed first")
            try:
                return write(self._warehouse.result(), name, data, **options)
            except BaseException:
                self._failed = name
                raise

        self.pending[name] = self._pool.submit(commit)

    def call(self, work: Callable[[Warehouse], T]) -> Future[T]:
        """Run `work(warehouse)` on the worker, after the work submitted before it."""
        return self._pool.submit(lambda: work(self._warehouse.result()))

    def run(self, work: Callable[[Warehouse], T]) -> T:
        """`call`, waited for."""
        return self.call(work).result()

    def wait(self) -> dict[str, Commit]:
        """Every commit, in submission order; the first failure is raised."""
        self._warehouse.result()  # a warehouse that cannot be opened fails here, with its own error
        for future in self.pending.values():
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return {name: future.result() for name, future in self.pending.items()}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _open(location: str, catalog: str | None, create: bool) -> Warehouse:
    """On the worker: open the warehouse and load the write path before the first table is ready."""
    from stedi.warehouse.catalog import Warehouse

    warehouse = Warehouse(location, create=create, catalog=catalog)
    import pyarrow.parquet  # noqa: F401
    import pyiceberg.io.pyarrow  # noqa: F401

    return warehouse
