"""Linux-based gear: `bridge -j fdb show` and `ip -j neigh show` (iproute2 JSON)."""

from __future__ import annotations

import json

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.texte_json import erreur_json, refuser_demi_caracteres
from telesante.collecte.vlan import vlan_depuis_nom
from telesante.mac import MacInvalide, est_multicast, normaliser_mac
from telesante.observation import Observation


def _json_list(texte: str, commande: str) -> list[dict]:
    if not texte.strip():
        raise SortieIllisible("sortie vide")
    try:
        data = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise SortieIllisible(
            f"JSON invalide pour « {commande} » ({erreur_json(exc)} : sortie tronquée ?)", exc.lineno
        ) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise SortieIllisible(f"« {commande} » doit produire une liste JSON d'objets")
    refuser_demi_caracteres(data, texte)
    return data


def _mac(entry: dict, key: str, index: int) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SortieIllisible(f"entrée n° {index + 1} : champ « {key} » invalide")
    try:
        mac = normaliser_mac(value)
    except MacInvalide as exc:
        raise SortieIllisible(f"entrée n° {index + 1} : {exc}") from exc
    return None if est_multicast(mac) else mac


def observations_fdb(texte: str, equipement: str, source: str, vlan_par_defaut: int | None = None) -> list[Observation]:
    """Observations from a Linux bridge forwarding database (learned entries only).

    An entry whose VLAN neither the entry nor its bridge's name tells is put on `vlan_par_defaut`
    (telesante_vlan_par_defaut: a bridge without VLAN filtering), or on no VLAN without it.
    """
    observations = []
    for index, entry in enumerate(_json_list(texte, "bridge -j fdb show")):
        mac = _mac(entry, "mac", index)
        # "permanent" entries are the bridge's own ports, not devices behind them.
        if mac is None or entry.get("state") == "permanent" or "master" not in entry:
            continue
        vlan = entry.get("vlan")
        if not isinstance(vlan, int) or not 1 <= vlan <= 4094:
            # No VLAN filtering: one bridge per VLAN, the VLAN is in the bridge's name.
            vlan = vlan_depuis_nom(str(entry.get("master")))
            if vlan is None:
                vlan = vlan_par_defaut
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                vlan=vlan,
                port=str(entry.get("ifname") or "") or None,
            )
        )
    return observations


def observations_voisins(texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from a Linux neighbour table (IPv4 and IPv6)."""
    observations = []
    for index, entry in enumerate(_json_list(texte, "ip -j neigh show")):
        mac = _mac(entry, "lladdr", index)
        if mac is None:
            continue  # FAILED / INCOMPLETE entries carry no link-layer address
        interface = str(entry.get("dev") or "")
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                ip=str(entry.get("dst") or "") or None,
                vlan=vlan_depuis_nom(interface),
                attributs=(("interface", interface),) if interface else (),
            )
        )
    return observations
