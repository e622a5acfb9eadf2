"""What calls for an alert, from one run compared with the previous one, and its French text.

Events (nothing else alerts, and nothing alerts twice: each is a change from the previous run):

- `nouveau_critique`: an active critical finding (mission network or isolation) that was not
  an active critical finding at the previous run;
- `reseau_non_conforme`, `reseau_incomplet`: a mission network whose status became this one;
- `retour_conformite`: a mission network that was non-compliant or incomplete and is compliant.

With no previous run (first run of a history), every mission network is taken as compliant
before: what is wrong on the first night is told once.
"""

from __future__ import annotations

from telesante import changements
from telesante.inerte import inerte

FORMAT = "telesante-alerte"
NOUVEAU_CRITIQUE, RESEAU_NON_CONFORME, RESEAU_INCOMPLET, RETOUR_CONFORMITE = (
    "nouveau_critique", "reseau_non_conforme", "reseau_incomplet", "retour_conformite")
# RFC 5424, 6.2.1: severity of each event for syslog.
GRAVITES_SYSLOG = {NOUVEAU_CRITIQUE: 2, RESEAU_NON_CONFORME: 3, RESEAU_INCOMPLET: 4, RETOUR_CONFORMITE: 5}
LIGNES_MAX = 200  # events of one kind written in a mail; the rest are counted (the report has them all)
_STATUTS = {"conforme": "conforme", "non_conforme": "non conforme", "incomplet": "incomplet"}


def _critique_actif(constat: dict) -> bool:
    return constat["statut"] == "actif" and constat["gravite"] == "critique"


def _critiques_actifs(suivis: dict[str, changements.Suivi]) -> set[str]:
    return {cle for cle, suivi in suivis.items() if suivi.statut == "actif" and suivi.gravite == "critique"}


def evenements(document: dict, precedent: changements.Precedent | None) -> dict | None:
    """The alert of one run (the report document, its changes added), or None when nothing changed enough."""
    avant = _critiques_actifs(precedent.constats) if precedent else set()
    avant_isolement = _critiques_actifs(precedent.isolement) if precedent else set()
    liste = []
    for cle, constat in changements.constats_du_document(document).items():
        if _critique_actif(constat) and cle not in avant:
            liste.append({"type": NOUVEAU_CRITIQUE, "reseau": constat["reseau"], "site": constat["site"],
                          "mac": constat["mac"], "ips": constat["ips"], "message": constat["message"],
                          "emplacements": [f"{e['equipement']} {e['port']}" for e in constat["emplacements"]],
                          "noms_hote": constat["noms_hote"]})
    for cle, constat in changements.isolement_du_document(document).items():
        if _critique_actif(constat) and cle not in avant_isolement:
            liste.append({"type": NOUVEAU_CRITIQUE, "reseau": constat["vers"], "site": constat["site"], "mac": None,
                          "ips": [constat["cible"]], "message": constat["message"], "emplacements": [],
                          "noms_hote": [], "depuis": constat["depuis"], "sonde": constat["sonde"]})
    etats_avant = (precedent.reseaux if precedent and precedent.reseaux is not None else {})
    for reseau in document["reseaux"]:
        if reseau["type"] != "mission":
            continue
        ancien, nouveau = etats_avant.get(reseau["nom"], "conforme"), reseau["statut"]
        if ancien == nouveau:
            continue
        type_ = {"non_conforme": RESEAU_NON_CONFORME, "incomplet": RESEAU_INCOMPLET}.get(nouveau, RETOUR_CONFORMITE)
        liste.append({"type": type_, "reseau": reseau["nom"], "site": reseau["site"], "avant": ancien,
                      "apres": nouveau, "motif": reseau.get("motif"), "constats_actifs": reseau["constats_actifs"]})
    if not liste:
        return None
    precedent_doc = (document.get("changements") or {}).get("precedent")
    return {"format": FORMAT, "version": 1, "nuit": changements.nuit_du_document(document),
            "debut": document["debut"], "inventaire": document["inventaire"],
            "verdict": {k: document["verdict"][k] for k in ("code_sortie", "statut", "signification")},
            "precedent": precedent_doc, "evenements": liste}


def _compte(nombre: int, singulier: str, pluriel: str) -> str:
    return f"{nombre} {singulier if nombre < 2 else pluriel}"


def sujet(contenu: dict) -> str:
    """The subject line: the night and what changed, in counts (one line, inert)."""
    par_type: dict[str, int] = {}
    for evenement in contenu["evenements"]:
        par_type[evenement["type"]] = par_type.get(evenement["type"], 0) + 1
    parties = []
    if par_type.get(NOUVEAU_CRITIQUE):
        parties.append(_compte(par_type[NOUVEAU_CRITIQUE], "nouveau constat critique", "nouveaux constats critiques"))
    if par_type.get(RESEAU_NON_CONFORME):
        parties.append(_compte(par_type[RESEAU_NON_CONFORME], "réseau devenu non conforme", "réseaux devenus non conformes"))
    if par_type.get(RESEAU_INCOMPLET):
        parties.append(_compte(par_type[RESEAU_INCOMPLET], "réseau devenu incomplet", "réseaux devenus incomplets"))
    if par_type.get(RETOUR_CONFORMITE):
        parties.append(_compte(par_type[RETOUR_CONFORMITE], "réseau revenu à la conformité",
                               "réseaux revenus à la conformité"))
    return inerte(f"[telesante] Audit de la nuit du {contenu['nuit']} : {', '.join(parties)}")


def phrase(evenement: dict) -> str:
    """One event as one French sentence (inert: device-chosen names cannot forge a line)."""
    reseau = f"« {evenement['reseau']} » (site {evenement['site']})"
    if evenement["type"] == NOUVEAU_CRITIQUE:
        appareil = evenement["mac"] or ", ".join(evenement["ips"]) or "appareil inconnu"
        ou = ""
        if evenement.get("depuis"):
            ou = f" ; depuis « {evenement['depuis']} » (sonde {evenement['sonde']})"
        elif evenement["emplacements"]:
            ou = f" ; branché sur {', '.join(evenement['emplacements'])}"
        ips = f" ({', '.join(evenement['ips'])})" if evenement["mac"] and evenement["ips"] else ""
        noms = f", nom d'hôte {', '.join(evenement['noms_hote'])}" if evenement["noms_hote"] else ""
        texte = f"Nouveau constat critique sur {reseau} : {appareil}{ips}{noms} : {evenement['message']}{ou}"
    elif evenement["type"] == RETOUR_CONFORMITE:
        texte = f"Réseau de mission {reseau} revenu à la conformité (il était {_STATUTS.get(evenement['avant'], evenement['avant'])})"
    else:
        etat = "non conforme" if evenement["type"] == RESEAU_NON_CONFORME else "incomplet"
        detail = (f" : {evenement['motif']}" if evenement.get("motif")
                  else f" : {_compte(evenement['constats_actifs'], 'constat actif', 'constats actifs')}")
        texte = (f"Réseau de mission {reseau} devenu {etat} (il était "
                 f"{_STATUTS.get(evenement['avant'], evenement['avant'])}){detail}")
    return inerte(texte)


_TITRES = ((NOUVEAU_CRITIQUE, "Nouveaux constats critiques"), (RESEAU_NON_CONFORME, "Réseaux devenus non conformes"),
           (RESEAU_INCOMPLET, "Réseaux devenus incomplets"), (RETOUR_CONFORMITE, "Retours à la conformité"))


def corps(contenu: dict, nuit_du_rapport: str | None = None) -> str:
    """The body of the mail (plain text, French): verdict, then each change, grouped."""
    verdict = contenu["verdict"]
    precedent = contenu.get("precedent")
    lignes = [inerte(f"Audit telesante de la nuit du {contenu['nuit']} (inventaire {contenu['inventaire']}) : "
                     f"{verdict['signification']} (code {verdict['code_sortie']})."), ""]
    if precedent:
        lignes.append(f"Ce qui a changé depuis le passage précédent (nuit du {precedent.get('nuit') or precedent['date']}) :")
    else:
        lignes.append("Premier passage de l'historique : ce qui ne va pas cette nuit est signalé une fois.")
    for type_, titre in _TITRES:
        choisis = [e for e in contenu["evenements"] if e["type"] == type_]
        if choisis:
            lignes += ["", f"{titre} :"] + [f"  - {phrase(e)}" for e in choisis[:LIGNES_MAX]]
            if len(choisis) > LIGNES_MAX:
                lignes.append(f"  … et {len(choisis) - LIGNES_MAX} autres : voir le rapport joint")
    lignes.append("")
    if nuit_du_rapport and nuit_du_rapport != contenu["nuit"]:
        lignes.append(f"Cette alerte n'avait pas pu partir après l'audit de la nuit du {contenu['nuit']} ; elle est "
                      f"renvoyée. Le rapport joint est celui de la nuit du {nuit_du_rapport}.")
    else:
        lignes.append("Le rapport complet de la nuit est joint (rapport.html).")
    lignes.append("Vous recevez ce message parce que quelque chose a changé : telesante n'alerte jamais deux fois "
                  "pour la même chose.")
    return "\n".join(lignes) + "\n"
