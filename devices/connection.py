"""The lifecycle every piece of hardware shares: connect, disconnect, ask, use as a context manager."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

_Self = TypeVar("_Self", bound="Connectable")


class Connectable(ABC):
    @abstractmethod
    def connect(self) -> None:
        """Open the device; raises with a one-line message that says what to do when it cannot."""

    @abstractmethod
    def disconnect(self) -> None:
        """Release the device; safe to call twice."""

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        ...

    def __enter__(self: _Self) -> _Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()


class NothingToOpen(Connectable):
    """For a device with nothing to open (frames handed to it, a stand-in): connecting only records
    that the caller did, so callers that check ``is_connected`` treat it like real hardware."""

    _connected = False

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected
