"""VLAN numbers out of VLAN names and routed interface names, as switches, routers and Linux print them."""

from __future__ import annotations

import re

# "Vlan110", "vlan.20", "irb.20", "eth1.100", "bond0.110", "Vlan101, Port-Channel2", and the
# bridge of a bridge-per-VLAN Linux switch: "br110", "vmbr0v110" (Proxmox).
_VLAN_INTERFACE = re.compile(r"^(?:vlan\s*\.?|irb\.|\S+\.|br|\S+v)(\d{1,4})$", re.IGNORECASE)


def vlan_depuis_nom(nom: str | None) -> int | None:
    """VLAN ID from a VLAN name ("110", "Vlan110") or a routed interface ("eth1.100")."""
    if not nom:
        return None
    first = nom.split(",")[0].strip()
    if first.isascii() and first.isdigit():
        value = int(first)
    else:
        match = _VLAN_INTERFACE.match(first)
        if not match:
            return None
        value = int(match.group(1))
    return value if 1 <= value <= 4094 else None
