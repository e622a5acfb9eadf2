"""MAC address handling: normalization, randomized addresses, VMware VM MACs."""

from __future__ import annotations

import hashlib

from netaddr import EUI, AddrFormatError, mac_unix_expanded

# VMware's range for statically assigned MACs (manual range).
PLAGE_MANUELLE_VMWARE_DEBUT = 0x005056000000
PLAGE_MANUELLE_VMWARE_FIN = 0x0050563FFFFF


class MacInvalide(ValueError):
    """Raised when a text is not a usable unicast MAC address."""


def lire_mac(text: str) -> EUI:
    """Parse any common MAC notation (Cisco dotted, HP dashed, colon) into an EUI-48."""
    if not isinstance(text, str):
        raise MacInvalide(f"adresse MAC attendue, reçu {type(text).__name__}")
    cleaned = text.strip()
    try:
        mac = EUI(cleaned, version=48)
    except (AddrFormatError, TypeError, ValueError) as exc:
        raise MacInvalide(f"adresse MAC invalide « {cleaned} »") from exc
    return mac


def normaliser_mac(text: str) -> str:
    """Return the canonical lowercase colon form (aa:bb:cc:dd:ee:ff) of a MAC address."""
    mac = lire_mac(text)
    mac.dialect = mac_unix_expanded
    return str(mac)


def mac_en_entier(mac: str) -> int:
    """Integer value of a canonical MAC address (fast path, no validation)."""
    return int(mac.replace(":", ""), 16)


def est_multicast(mac: str) -> bool:
    """True for group addresses (I/G bit set): not a device."""
    return bool(int(mac[0:2], 16) & 0x01)


def est_administree_localement(mac: str) -> bool:
    """True for locally administered addresses (U/L bit set), e.g. randomized phone MACs."""
    return bool(int(mac[0:2], 16) & 0x02)


def est_plage_manuelle_vmware(mac: str) -> bool:
    """True when the MAC lies in VMware's manual (static) range."""
    return PLAGE_MANUELLE_VMWARE_DEBUT <= mac_en_entier(mac) <= PLAGE_MANUELLE_VMWARE_FIN


def mac_vm_du_numero_serie(serial: str) -> str:
    """Deterministic MAC in VMware's manual range for the VM of the Mac with this serial.

    The 22 low bits come from a SHA-256 of the normalized serial number, so the
    provisioning and the audit derive the same address without copying it by hand.
    """
    normalized = serial.strip().upper()
    if not normalized:
        raise ValueError("numéro de série vide")
    digest = int.from_bytes(hashlib.sha256(normalized.encode("utf-8")).digest()[:4], "big")
    value = PLAGE_MANUELLE_VMWARE_DEBUT + (digest & 0x3FFFFF)
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))
