"""Who is acting, and through which door: passed to every service that writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any = None  # a Django user, or None for the system itself
    via: str = "system"  # console, api, cli, import, system
    ip: str | None = None

    @property
    def label(self) -> str:
        if self.user is not None and getattr(self.user, "pk", None):
            return self.user.get_username()
        return self.via

    @classmethod
    def from_request(cls, request, via: str = "console") -> Actor:
        # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy rewrites it.
        return cls(user=request.user, via=via, ip=request.META.get("REMOTE_ADDR"))


SYSTEM = Actor()
