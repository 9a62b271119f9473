"""What the dashboard is started with: the database, the token, read-only, the artifact root."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LOOPBACK_NAMES", "UiSettings", "is_loopback"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class UiSettings:
    """How one dashboard serves one tracking database.

    Attributes:
        db: The database URL (as ``--db``).
        token: When set, every page and API call needs it (``Authorization: Bearer TOKEN`` or
            the cookie the login form sets).
        read_only: No edits: their routes answer 403 and pages show no edit controls.
        artifacts: The artifact root downloads are confined to (default: beside the database).
        host: The address the server binds; on a loopback address only requests naming a
            loopback host are answered (a DNS-rebinding page cannot reach the dashboard).
        page_size: Rows per page of the runs table.
    """

    db: str
    token: str | None = None
    read_only: bool = False
    artifacts: Path | None = None
    host: str = "127.0.0.1"
    page_size: int = 50
    extra_hosts: frozenset[str] = field(default_factory=frozenset)
