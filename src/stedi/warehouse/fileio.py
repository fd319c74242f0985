"""The warehouse's file IO: relocatable warehouses, and no write or delete outside the warehouse.

Iceberg metadata holds absolute paths. A warehouse records the root it was created at (its logical
root, a catalog namespace property); every path in its metadata and catalog stays under that root
for good. Opened at another place (a moved or copied folder, a bucket prefix copied elsewhere), its
files are read and written at the place it was opened (the physical root): this FileIO maps one
root onto the other. So a copy works on its own files and never touches the original's.

Every path is checked before a file is read, written or deleted: outside the physical root,
nothing is done (a catalog or metadata file naming a file elsewhere is refused as damaged). Local
paths are plain `file://` + path (no percent-encoding), so any folder name works.
"""

from __future__ import annotations

import os

from pyiceberg.io import InputFile, OutputFile
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

from stedi.storage import normal_uri

LOGICAL_ROOT = "stedi.logical-root"
PHYSICAL_ROOT = "stedi.physical-root"
IMPL = "stedi.warehouse.fileio.WarehouseFileIO"


class OutsideWarehouse(PermissionError):
    """A read, write or delete outside the warehouse was refused."""


def local_uri(path: str) -> str:
    """A local path as pyiceberg stores it: `file://` and the absolute path, unencoded."""
    return "file://" + os.path.abspath(path)


class WarehouseFileIO(PyArrowFileIO):
    def __init__(self, properties: Properties = EMPTY_DICT):
        super().__init__(properties)
        self.logical = properties.get(LOGICAL_ROOT, "").rstrip("/")
        self.physical = properties.get(PHYSICAL_ROOT, "").rstrip("/")

    @staticmethod
    def parse_location(location: str, properties: Properties = EMPTY_DICT) -> tuple[str, str, str]:
        if location.startswith("file:"):  # unencoded: a folder may hold spaces, '#', '?' or '%'
            return "file", "", normal_uri(location)[len("file://") :]
        return PyArrowFileIO.parse_location(location, properties)

    def physical_location(self, location: str) -> str:
        """Where a location of the metadata is on storage now."""
        location = normal_uri(location)
        moved = self.logical and self.physical and self.logical != self.physical
        if moved and (location == self.logical or location.startswith(self.logical + "/")):
            return self.physical + location[len(self.logical) :]
        return location

    def checked(self, location: str, doing: str = "write or delete") -> str:
        """Where a location of the metadata is on storage now, refused (OutsideWarehouse) when that
        is outside the warehouse."""
        mapped = self.physical_location(location)
        if self.physical and not mapped.startswith(self.physical + "/"):
            raise OutsideWarehouse(f"refused to {doing} {mapped}: it is outside the warehouse {self.physical}")
        return mapped

    def _file(self, location: str, physical: str) -> PyArrowFile:
        scheme, netloc, path = self.parse_location(physical, self.properties)
        return PyArrowFile(
            fs=self.fs_by_scheme(scheme, netloc),
            location=location,  # what the metadata records: the logical path
            path=path,
            buffer_size=int(self.properties.get("py-io-buffer-size", 1 << 20)),
        )

    def new_input(self, location: str) -> PyArrowFile:
        # A catalog or metadata file that names a file elsewhere (another warehouse, /etc/...) is
        # damaged or hostile: reading it would show or copy what the user never gave.
        return self._file(location, self.checked(location, "read"))

    def new_output(self, location: str) -> PyArrowFile:
        return self._file(location, self.checked(location))

    def delete(self, location: str | InputFile | OutputFile) -> None:
        text = location.location if isinstance(location, (InputFile, OutputFile)) else location
        super().delete(self.checked(text))
