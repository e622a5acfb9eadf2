"""Identification: vendor from the IEEE registry, category from the signatures (telesante.signatures)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import netaddr

from telesante.motifs import FirstOf
from telesante.signatures import Categorie, Signature, lire_signatures

# Weight of each kind of evidence: the most specific match wins.
FORCE_FABRICANT, FORCE_NOM_HOTE, FORCE_MDNS, FORCE_MDNS_MODELE = 1, 2, 3, 4


class RegistreOui:
    """The IEEE MA-L registry shipped with netaddr, held in memory as {"aa:bb:cc": vendor}.

    Keyed by the first 8 characters of a canonical MAC, so a lookup is one slice and
    one dictionary access.
    """

    def __init__(self, chemin: Path):
        table: dict[str, str] = {}
        with open(chemin, encoding="utf-8", errors="replace") as registry:
            for line in registry:
                if "(base 16)" in line:
                    prefix, _, vendor = line.partition("(base 16)")
                    digits = prefix.strip().lower()
                    table[f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}"] = vendor.strip()
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def items(self):
        """(OUI as a 24-bit integer, vendor) pairs."""
        return ((int(prefix.replace(":", ""), 16), vendor) for prefix, vendor in self._table.items())

    def fabricant(self, mac: str) -> str | None:
        """Registered vendor of a canonical MAC (aa:bb:cc:...), or None."""
        return self._table.get(mac[:8])


@cache
def registre_ieee() -> RegistreOui:
    """The registry, loaded once per process."""
    return RegistreOui(Path(netaddr.__file__).parent / "eui" / "oui.txt")


class Identification(NamedTuple):
    """What a device is thought to be, and why (immutable: answers are shared between
    devices; a named tuple, cheap to create by the tens of thousands)."""

    fabricant: str | None
    signature: str | None = None
    categorie: Categorie | None = None
    motifs: tuple[str, ...] = ()


# What the identifier keeps per OUI (see Identificateur._by_oui).
_EntreeOui = tuple[str | None, Signature | None, Identification, tuple[tuple[re.Pattern, Signature], ...]]


class Identificateur:
    """Matches devices against signatures; caches per-OUI results for speed.

    The signatures are fixed at construction: the lookup tables below derive from them.
    """

    def __init__(self, signatures: list[Signature], categories: dict[str, Categorie], registre: RegistreOui):
        self.signatures = signatures
        self.categories = categories
        self.registre = registre
        # Per OUI ("aa:bb:cc", None for no MAC): (vendor, its signature, the answer for a
        # device known by its vendor alone, the host names known under this OUI only).
        # Filled on first sight; answers are immutable.
        self._by_oui: dict[str | None, _EntreeOui] = {}
        self._no_vendor: _EntreeOui = (None, None, Identification(None), ())
        # The first signature whose vendor or host name expressions match: one or two
        # searches for all of them (see FirstOf), most vendors and names matching none.
        self._vendor_signatures = [s for s in signatures if s.fabricants]
        self._first_vendor = FirstOf([list(s.motifs_fabricants) for s in self._vendor_signatures])
        self._hostname_signatures = [s for s in signatures if s.noms_hote]
        self._first_hostname = FirstOf([list(s.motifs_noms_hote) for s in self._hostname_signatures])
        self._names_under_oui: dict[str, tuple[tuple[re.Pattern, Signature], ...]] = {}
        for signature in signatures:
            for oui, pattern in signature.ouis_noms_hote:
                self._names_under_oui[oui] = (*self._names_under_oui.get(oui, ()), (pattern, signature))
        self._mdns_rules: dict[str, list[tuple[re.Pattern | None, Signature]]] = {}
        for signature in signatures:
            for rule_service, rule_model in signature.mdns:
                self._mdns_rules.setdefault(rule_service, []).append((rule_model, signature))

    def _oui(self, prefix: str | None) -> _EntreeOui:
        vendor = self.registre.fabricant(prefix) if prefix else None
        if vendor is None:  # not cached: randomized MACs would fill the cache with their prefixes
            under_oui = self._names_under_oui.get(prefix, ()) if prefix else ()
            return (None, None, self._no_vendor[2], under_oui) if under_oui else self._no_vendor
        index = self._first_vendor.first(vendor)
        signature = None if index is None else self._vendor_signatures[index]
        # tuple.__new__ with every field: without the Python-level __new__ that namedtuple
        # generates (about a third of the cost of creating one, by the tens of thousands).
        if signature is None:
            answer = tuple.__new__(Identification, (vendor, None, None, ()))
        else:
            answer = tuple.__new__(Identification,
                                   (vendor, signature.nom, signature.categorie, (f"fabricant « {vendor} »",)))
        entry = self._by_oui[prefix] = (vendor, signature, answer, self._names_under_oui.get(prefix, ()))
        return entry

    def _by_hostname(self, name: str) -> Signature | None:
        """The first signature whose host name expressions match this name, or None."""
        index = self._first_hostname.first(name)
        return None if index is None else self._hostname_signatures[index]

    def identifier(
        self, mac: str | None, noms_hote: Iterable[str] = (), mdns: Iterable[tuple[str, str | None]] = ()
    ) -> Identification:
        """Identify one device from its MAC, its host names and its mDNS (service, model) pairs.

        The most specific evidence wins: mDNS model, then mDNS service, then host name, then vendor.
        """
        prefix = mac[:8] if mac else None
        entry = self._by_oui.get(prefix)
        if entry is None:
            entry = self._oui(prefix)
        vendor, best, vendor_only, under_oui = entry
        if not noms_hote and not mdns:
            return vendor_only
        best_force = FORCE_FABRICANT if best else 0
        motifs: list[str] = []
        # The first host name that matches a signature wins (the first matching signature);
        # a name known under this device's OUI only comes before names known everywhere.
        # Sets: sorted (when there is a choice), or the winner would change with the hash seed.
        for name in sorted(noms_hote) if len(noms_hote) > 1 else noms_hote:
            found = next((s for pattern, s in under_oui if pattern.search(name)), None) if under_oui else None
            if found is not None:
                best_force, best = FORCE_NOM_HOTE, found
                motifs.append(f"nom d'hôte « {name} » sous l'OUI {prefix}")
                break
            found = self._by_hostname(name)
            if found is not None:
                best_force, best = FORCE_NOM_HOTE, found
                motifs.append(f"nom d'hôte « {name} »")
                break
        for service, model in sorted(mdns, key=_ordre_mdns) if len(mdns) > 1 else mdns:
            for rule_model, signature in self._mdns_rules.get(service, ()):
                force = FORCE_MDNS_MODELE if rule_model else FORCE_MDNS
                if force > best_force and (rule_model is None or (model and rule_model.search(model))):
                    best_force, best = force, signature
                    motifs.append(f"mDNS {service}" + (f" modèle « {model} »" if rule_model else ""))
        if not motifs:  # names and services that match nothing: the vendor's answer
            return vendor_only
        return tuple.__new__(Identification, (vendor, best.nom, best.categorie, vendor_only.motifs + tuple(motifs)))


def charger_identificateur(
    locales: list[dict] | None = None, categories_interdites: Iterable[str] | None = None
) -> Identificateur:
    """An identifier of the shipped signatures plus the inventory's own (first); raise SignaturesInvalides."""
    return Identificateur(*lire_signatures(locales, categories_interdites), registre_ieee())


def _ordre_mdns(paire: tuple[str, str | None]) -> tuple[str, str]:
    """The order of (service, model) pairs, a model-less pair first."""
    return paire[0], paire[1] or ""
