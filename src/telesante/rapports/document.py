"""The audit's result as a plain document: the JSON report's versioned schema (v1).

Every other format (terminal, CSV, JUnit) is rendered from this document, so they
can never disagree. Schema: src/telesante/donnees/rapport-audit-v1.schema.json.
"""

from __future__ import annotations

from telesante import __version__
from telesante.audit import ResultatAudit
from telesante.codes import SIGNIFICATION, STATUTS
from telesante.isolement import ConstatIsolement, EtatIsolement
from telesante.politique import Constat, NonDeclare

FORMAT = "telesante-rapport-audit"
VERSION = 1


def _constat(constat: Constat) -> dict:
    appareil, ident = constat.appareil, constat.identification
    derogation = None
    if constat.derogation is not None:
        derogation = {
            "justification": constat.derogation.justification,
            "expiration": constat.derogation.expiration.isoformat(),
            "expiree": constat.derogation_expiree,
        }
    return {
        "gravite": constat.gravite,
        "type": constat.type,
        "statut": constat.statut,
        "message": constat.message,
        "reseau": constat.reseau.nom,
        "site": constat.reseau.site,
        "mac": appareil.mac,
        "fabricant": ident.fabricant,
        "identification": {
            "signature": ident.signature,
            "categorie": ident.categorie.libelle if ident.categorie else None,
            "motifs": list(ident.motifs),
        },
        "ips": sorted(appareil.ips),
        "vlans": sorted({vlan for _site, vlan in appareil.vlans}),
        "emplacements": [
            {"equipement": eq, "port": port, "vlan": vlan}
            for eq, port, vlan in sorted(appareil.emplacements, key=lambda e: (e[0], e[1], e[2] or 0))
        ],
        "noms_hote": sorted(appareil.noms_hote),
        "services_mdns": [
            {"service": service, "modele": model}
            for service, model in sorted(appareil.mdns, key=lambda m: (m[0], m[1] or ""))
        ],
        "sources": sorted(appareil.sources),
        "vu_le": appareil.vu_le.isoformat() if appareil.vu_le else None,
        "derogation": derogation,
    }


def _non_declare(entree: NonDeclare) -> dict:
    return {
        "site": entree.site,
        "vlan": entree.vlan,
        "sous_reseau": entree.sous_reseau,
        "appareils": len(entree.appareils),
        "equipements": sorted(entree.equipements),
        "interdits": len(entree.interdits),
        "non_places": len(entree.non_places),
    }


def _constat_isolement(constat: ConstatIsolement) -> dict:
    essai, derogation = constat.essai, constat.derogation
    return {
        "gravite": constat.gravite,
        "type": constat.type,
        "statut": constat.statut,
        "message": constat.message,
        "site": constat.depuis.site,
        "depuis": constat.depuis.nom,
        "sonde": essai.sonde,
        "vers": constat.vers.nom,
        "cible": essai.cible,
        "port": essai.port,
        "nom": essai.nom or None,
        "methode": essai.methode,
        "delai_ms": essai.delai_ms,
        "detail": essai.detail or None,
        "derogation": None if derogation is None else {
            "justification": derogation.justification,
            "expiration": derogation.expiration.isoformat(),
            "expiree": constat.derogation_expiree,
        },
    }


def _paire(etat: EtatIsolement) -> dict:
    return {"site": etat.depuis.site, "depuis": etat.depuis.nom, "vers": etat.vers.nom, "statut": etat.statut,
            "sondes": list(etat.sondes), "constats_actifs": etat.constats_actifs}


def construire(resultat: ResultatAudit) -> dict:
    """The report document for one audit run."""
    code = resultat.code_sortie
    actifs = resultat.constats_actifs
    return {
        "format": FORMAT,
        "version": VERSION,
        "outil": {"nom": "telesante", "version": __version__},
        "inventaire": str(resultat.configuration.racine),
        "mode": resultat.mode,
        "debut": resultat.debut.isoformat(),
        "fin": resultat.fin.isoformat(),
        "date_reference": resultat.date_reference.isoformat(),
        "verdict": {
            "code_sortie": code,
            "statut": STATUTS[code],
            "signification": SIGNIFICATION[code],
            "interrompu": resultat.interrompu,
        },
        "resume": {
            "equipements": len(resultat.collectes),
            "equipements_incomplets": sum(1 for c in resultat.collectes if not c.complet),
            "appareils": resultat.nombre_appareils,
            "constats_critiques": sum(1 for c in actifs if c.gravite == "critique"),
            "constats_a_verifier": sum(1 for c in actifs if c.gravite != "critique"),
            "constats_leves": len(resultat.constats) - len(actifs),
        },
        "notes": list(resultat.notes),
        "equipements": [
            {
                "nom": c.equipement.nom,
                "plateforme": c.equipement.plateforme,
                "site": c.equipement.site,
                "statut": "complet" if c.complet else "incomplet",
                "problemes": list(c.problemes),
                "lectures": list(c.lectures_reussies),
                "observations": len(c.observations),
            }
            for c in resultat.collectes
        ],
        "reseaux": [
            {
                "nom": e.reseau.nom,
                "site": e.reseau.site,
                "type": "mission" if e.reseau.mission else "hors_mission",
                "statut": e.statut,
                "appareils": e.appareils,
                "constats_actifs": e.constats_actifs,
                "constats_critiques": e.constats_critiques,
                "constats_a_verifier": e.constats_a_verifier,
                "motif": e.motif,
            }
            for e in resultat.reseaux
        ],
        "non_declares": [_non_declare(e) for e in resultat.non_declares],
        "constats": [_constat(c) for c in resultat.constats],
        "isolement": {
            "paires": [_paire(e) for e in resultat.isolement],
            "constats": [_constat_isolement(c) for c in resultat.constats_isolement],
        },
    }
