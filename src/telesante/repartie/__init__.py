"""Distributed collection (AWX job slicing): `telesante collecter`, and the final node's reader.

Each slice collects its equipment (the hosts of an Ansible pattern, `--limite`, resolved by
Ansible's own `InventoryManager.subset`, as `ansible --limit`) into a shared folder:

    DOSSIER/captures/<équipement>/...     the offline capture layout (`--enregistrer-captures`)
    DOSSIER/manifestes/<tranche>.json     what the slice had to collect, and what it collected

The manifest is written first « en_cours » (the equipment it must collect), then, last,
« termine » (or « interrompu ») with the sha256 of every capture file it wrote. The final
node (`telesante audit --collecte-repartie DOSSIER --passage P`) compares the manifests of
its passage with the whole inventory: equipment that no slice collected, a slice missing,
unfinished or of another passage, a capture that is not the one its slice wrote, an
equipment claimed by two slices, all make that equipment *incomplet*, never « conforme ».

Slices are numbered as AWX cuts them (awx/main/models/inventory.py, `get_sliced_hosts`:
the inventory's hosts ordered by name, slice k holds `hosts[k-1::n]`).

Modules: `tranches` (which hosts, which slice number, collecting one slice), `manifestes`
(the shared folder's files, the manifest's schema), `examen` (the final node), `commande`.
"""

from telesante.repartie.commande import collecteur_audit, commande_collecter

__all__ = ["collecteur_audit", "commande_collecter"]
