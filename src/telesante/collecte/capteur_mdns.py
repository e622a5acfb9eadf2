"""The mDNS sensor: browse for a bounded time on one interface and write the observations file.

It runs on a probe host plugged into a mission VLAN; the audit reads its file
(format: src/telesante/donnees/capteur-mdns-v1.schema.json).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf, ZeroconfServiceTypes

from telesante.collecte.mdns import FORMAT, VERSION
from telesante.ecriture import ecrire_atomiquement

# Service types consumer devices announce; browsed even if the type enumeration misses them.
TYPES_CONNUS = (
    "_googlecast._tcp.local.", "_airplay._tcp.local.", "_raop._tcp.local.", "_amzn-wplay._tcp.local.",
    "_amzn-alexa._tcp.local.", "_sonos._tcp.local.", "_spotify-connect._tcp.local.", "_hap._tcp.local.",
    "_homekit._tcp.local.", "_matter._tcp.local.", "_companion-link._tcp.local.",
)


def _adresses_interface(interface: str) -> list[str]:
    """IPv4 addresses of an interface (iproute2 JSON)."""
    output = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", interface],
                            capture_output=True, text=True, check=True, timeout=5).stdout
    return [a["local"] for link in json.loads(output or "[]") for a in link.get("addr_info", [])]


def _voisins() -> dict[str, str]:
    """IP -> MAC from the probe's own neighbour table, to name the MAC of announcers when known."""
    try:
        output = subprocess.run(["ip", "-j", "neigh", "show"], capture_output=True, text=True, timeout=5).stdout
        return {n["dst"]: n["lladdr"] for n in json.loads(output or "[]") if n.get("lladdr")}
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}


def ecouter(interface: str, duree: float, capteur: str) -> dict:
    """Browse mDNS for `duree` seconds on `interface`; return the observations document."""
    addresses = _adresses_interface(interface)
    if not addresses:
        raise ValueError(f"l'interface {interface} n'a pas d'adresse IPv4")
    start = datetime.now(timezone.utc)
    zeroconf = Zeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
    seen: dict[tuple[str, str], dict] = {}

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            return
        info = zeroconf.get_service_info(service_type, name, timeout=1500)
        if info is None:
            return
        txt = {}
        for key, value in (info.properties or {}).items():
            if key is not None:
                txt[key.decode("utf-8", "replace")] = (value or b"").decode("utf-8", "replace")
        for ip in info.parsed_addresses(IPVersion.V4Only):
            seen[(name, ip)] = {"ip": ip, "nom": name, "service": service_type, "txt": txt,
                                "vu_le": datetime.now(timezone.utc).isoformat()}

    try:
        deadline = time.monotonic() + duree
        types = set(TYPES_CONNUS)
        types |= set(ZeroconfServiceTypes.find(zc=zeroconf, timeout=min(2.0, max(duree / 3, 0.5))))
        browser = ServiceBrowser(zeroconf, sorted(types), handlers=[on_change])
        time.sleep(max(0.0, deadline - time.monotonic()))
        browser.cancel()
    finally:
        zeroconf.close()
    neighbours = _voisins()
    annonces = [{"mac": neighbours.get(a["ip"]), **a} for a in seen.values()]
    return {
        "format": FORMAT, "version": VERSION, "capteur": capteur or socket.gethostname(), "interface": interface,
        "debut": start.isoformat(), "fin": datetime.now(timezone.utc).isoformat(),
        "annonces": sorted(annonces, key=lambda a: (a["ip"], a["service"], a["nom"])),
    }


def ecrire(document: dict, sortie: Path) -> None:
    """Write the observations file atomically."""
    sortie.parent.mkdir(parents=True, exist_ok=True)
    ecrire_atomiquement(sortie, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
