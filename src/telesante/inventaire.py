"""Read the audit's configuration through ansible-core's own inventory machinery.

group_vars, host_vars, Vault and templating behave exactly as for playbooks. Every
value is validated before any work; all problems are reported at once, in French,
naming the file, the line and the key.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from pathlib import Path

from netaddr import AddrFormatError, IPAddress, IPNetwork, IPSet

from telesante.collecte.plateformes import CHEMINS_PAR_DEFAUT, PLATEFORMES
from telesante.identification import SignaturesInvalides, charger_identificateur
from telesante.inerte import inerte
from telesante.isolement import NOMS_METHODES
from telesante.mac import InvalidMac, is_multicast, normalize_mac, vm_mac_from_serial
from telesante.modele import (FUSEAU_HORAIRE, Autorise, CibleIsolement, Configuration, Derogation,
                              DerogationIsolement, Equipement, Reseau)
from telesante.fichiers_yaml import FichierYaml, examiner
from telesante.origine import chemin_affiche, origine, origine_erreur

TYPES_RESEAU = {"mission": True, "hors_mission": False}
# The keys each entry of a list variable may have: a typo (« vlan: », « sous_reseau: ») would
# otherwise silently drop what it declares.
CLES_RESEAU = ("nom", "site", "type", "sous_reseaux", "vlans", "vide_attendu", "cibles_isolement")
CLES_CIBLE_ISOLEMENT = ("adresse", "ports", "nom", "resolveur")
CLES_DEROGATION_ISOLEMENT = ("depuis", "cible", "port", "methode", "justification", "expiration")
CLES_AUTORISE = ("mac", "nom", "type")
CLES_DEROGATION = ("mac", "justification", "expiration")
AGE_MAX_SOURCES_HEURES = 36
# A device's variables that must be texts when present (a list there would become a path « ['a'] »).
TEXTES_EQUIPEMENT = ("telesante_site", "telesante_captures", "telesante_fichier", "telesante_reseau", "ansible_host",
                     "ansible_user", "ansible_ssh_private_key_file")
# Notations of a complete MAC address accepted in the inventory (netaddr alone would pad
# « aa:bb:cc:dd:ee:f » into …:0f, and accept mixed separators).
MAC_COMPLETE = re.compile(
    r"[0-9a-f]{2}(:[0-9a-f]{2}){5}|[0-9a-f]{2}(-[0-9a-f]{2}){5}|[0-9a-f]{4}(\.[0-9a-f]{4}){2}"
    r"|[0-9a-f]{6}-[0-9a-f]{6}|[0-9a-f]{12}", re.IGNORECASE)
# Variables whose value is a secret: an error never quotes them, not even in part.
SECRET = re.compile(r"pass|mot_de_passe|secret|cle|key|communaute|community|token|jeton", re.IGNORECASE)


class ErreurConfiguration(Exception):
    """The inventory is not usable; carries every problem found (control characters made visible)."""

    def __init__(self, erreurs: list[str]):
        erreurs = [inerte(e) for e in erreurs]
        super().__init__("\n".join(erreurs))
        self.erreurs = erreurs


class _Validation:
    """Accumulates French error messages that name where each value was written."""

    def __init__(self, racine: Path):
        self.racine = racine
        self.erreurs: list[str] = []

    def erreur(self, valeur, cle: str, message: str, hote: str | None = None) -> None:
        where = origine(valeur) or (f"hôte {hote}" if hote else str(self.racine))
        self.erreurs.append(f"{where} : clé « {cle} » : {message}")

    def texte(self, conteneur: dict, cle: str, chemin: str, obligatoire: bool = True) -> str | None:
        valeur = conteneur.get(cle)
        if valeur is None or (isinstance(valeur, str) and not valeur.strip()):
            if obligatoire:
                self.erreur(conteneur, f"{chemin}.{cle}", "valeur obligatoire manquante")
            return None
        if not isinstance(valeur, (str, int)) or isinstance(valeur, bool):
            self.erreur(valeur, f"{chemin}.{cle}", "texte attendu")
            return None
        return str(valeur).strip()

    def mac(self, valeur, cle: str, conteneur=None, hote: str | None = None) -> str | None:
        """A complete unicast MAC address, in canonical form; None (and an error) otherwise."""
        if valeur is None:
            self.erreur(conteneur, cle, "adresse MAC obligatoire manquante", hote=hote)
            return None
        if isinstance(valeur, int) and not isinstance(valeur, bool):
            # YAML 1.1 reads 10:59:32:33:44:55 as a base-60 number.
            self.erreur(valeur, cle, "MAC lue comme un nombre par YAML : mettez-la entre guillemets")
            return None
        if not isinstance(valeur, str):
            self.erreur(valeur, cle, f"adresse MAC attendue (texte), pas {_type(valeur)}", hote=hote)
            return None
        if not MAC_COMPLETE.fullmatch(valeur):
            self.erreur(valeur, cle, f"adresse MAC invalide « {valeur} » (attendu : six octets complets, "
                                     "ex. aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff ou aabb.ccdd.eeff)")
            return None
        try:
            mac = normalize_mac(valeur)
        except InvalidMac as exc:
            self.erreur(valeur, cle, str(exc))
            return None
        if is_multicast(mac):
            self.erreur(valeur, cle, f"{mac} est une adresse de groupe (multicast), pas celle d'un appareil")
            return None
        return mac

    def liste(self, valeur, cle: str) -> list:
        if valeur is None:
            return []
        if not isinstance(valeur, list):
            self.erreur(valeur, cle, "liste attendue")
            return []
        return valeur

    def cles_connues(self, item: dict, chemin: str, connues: tuple[str, ...]) -> None:
        """Refuse keys an entry does not know (a typo would silently drop a value)."""
        for cle in item:
            if cle not in connues:
                self.erreur(item, f"{chemin}.{cle}", f"clé inconnue (connues : {', '.join(connues)})")

    def entier(self, valeur, cle: str, minimum: int, maximum: int | None = None, hote: str | None = None) -> int | None:
        """An integer within bounds (booleans and texts refused)."""
        borne = f"entier de {minimum} à {maximum}" if maximum is not None else f"entier supérieur ou égal à {minimum}"
        if isinstance(valeur, bool) or not isinstance(valeur, int) or valeur < minimum or (
                maximum is not None and valeur > maximum):
            ecrite = str(valeur).lower() if isinstance(valeur, bool) else valeur  # as YAML writes it
            self.erreur(valeur, cle, f"valeur invalide « {ecrite} » ({borne})", hote=hote)
            return None
        return valeur

    def dictionnaire(self, valeur, cle: str) -> dict | None:
        if not isinstance(valeur, dict):
            self.erreur(valeur, cle, "dictionnaire attendu (clé: valeur)")
            return None
        return valeur


def _ansible_inventory(chemin: Path, fichier_vault: Path | None):
    # Imported here: ansible-core takes a while to import and the CLI's --help should not wait.
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    from ansible.cli import CLI
    from ansible.parsing.vault import VaultSecretsContext

    loader = DataLoader()
    # As ansible-playbook: the given file, plus those Ansible's configuration names
    # (ANSIBLE_VAULT_PASSWORD_FILE, ANSIBLE_VAULT_IDENTITY_LIST, ansible.cfg); never a prompt.
    try:
        secrets = CLI.setup_vault_secrets(loader, vault_ids=[], auto_prompt=False, initialize_context=False,
                                          vault_password_files=[str(fichier_vault)] if fichier_vault else [])
    except AnsibleError as exc:
        raise ErreurConfiguration([f"mot de passe Ansible Vault illisible : {' '.join(exc.message.split())}"]) from exc
    loader.set_vault_secrets(secrets)
    # Values encrypted inline (!vault) are decrypted on use with the process-wide context,
    # which Ansible lets initialize only once: a later inventory brings its own secrets.
    context = VaultSecretsContext.current(optional=True)
    if context is None:
        VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    else:
        context.secrets = secrets
    # Before Ansible parses them: their duplicate keys would only be an English warning.
    _examiner_fichiers(loader, _sources(chemin), {}, variables=False)
    try:
        inventory = InventoryManager(loader=loader, sources=[str(chemin)])
    except AnsibleError as exc:
        raise ErreurConfiguration([f"{chemin} : inventaire Ansible illisible : {exc.message}"]) from exc
    return loader, inventory, VariableManager(loader=loader, inventory=inventory)


def _sources(chemin: Path) -> list[str]:
    """The inventory files themselves: the given file, or the YAML files of the given folder."""
    if chemin.is_file():
        return [str(chemin)]
    return [str(f) for f in sorted(chemin.iterdir())
            if f.is_file() and not f.name.startswith(".") and f.suffix in ("", ".yml", ".yaml", ".json")]


def _fichiers_de_variables(loader, inventory, racine: Path) -> tuple[dict[str, list[str]], dict[str, tuple[str, list[str]]]]:
    """The group_vars/host_vars files Ansible reads for each group and host, as its host_group_vars plugin finds them.

    Also those it skips: of group_vars/all/, all.yml, all.yaml, all.json, Ansible reads only the
    first that exists.
    """
    from ansible import constants

    base = os.path.realpath(racine)
    par_entite: dict[str, list[str]] = {}
    ignores: dict[str, tuple[str, list[str]]] = {}
    entites = [("group_vars", g) for g in inventory.groups.values()] + [("host_vars", h) for h in inventory.get_hosts()]
    for sous_dossier, entite in entites:
        dossier = os.path.join(base, sous_dossier)
        if os.path.isdir(dossier) and not entite.name.startswith(os.path.sep):
            trouves = loader.find_vars_files(dossier, entite.name)
            if trouves:
                par_entite[f"{sous_dossier}/{entite.name}"] = trouves
            candidats = [os.path.join(dossier, entite.name + ext) for ext in ["", *constants.YAML_FILENAME_EXTENSIONS]]
            existants = [c for c in candidats if os.path.exists(c)]
            if len(existants) > 1:
                ignores[f"{sous_dossier}/{entite.name}"] = (existants[0], [c for c in existants[1:] if os.path.isfile(c)])
    return par_entite, ignores


def _examiner_fichiers(loader, fichiers: list[str], par_entite: dict[str, list[str]], variables: bool = True,
                       ignores: dict[str, tuple[str, list[str]]] | None = None) -> None:
    """Refuse alias bombs, duplicate keys, a telesante_* variable set by two files of one level or by a file Ansible skips."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import is_encrypted

    erreurs: list[str] = []
    examines: dict[str, FichierYaml] = {}
    ignores = ignores or {}
    for fichier in [*fichiers, *(f for _, sautes in ignores.values() for f in sautes)]:
        affiche = chemin_affiche(fichier)
        try:
            octets = Path(fichier).read_bytes()
        except OSError as exc:
            raison = {errno.EACCES: "permission refusée", errno.EISDIR: "c'est un dossier"}.get(exc.errno, exc.strerror)
            erreurs.append(f"{affiche} : fichier illisible ({raison})")
            continue
        try:
            texte = str(loader.get_text_file_contents(fichier)) if is_encrypted(octets) else octets.decode("utf-8")
        except UnicodeDecodeError as exc:
            erreurs.append(f"{affiche} : ce n'est pas un fichier texte UTF-8 (octet invalide à la position {exc.start})")
            continue
        except AnsibleError:
            continue  # Vault without its password: Ansible says so when it reads the file
        examines[fichier] = examiner(affiche, texte, variables)
        erreurs.extend(examines[fichier].erreurs)
    for entite, (premier, sautes) in ignores.items():
        for fichier in sautes:
            cles = [c for c in examines.get(fichier, FichierYaml(fichier)).cles if c.startswith("telesante_")]
            if cles:
                erreurs.append(
                    f"{chemin_affiche(fichier)} : fichier jamais lu par Ansible, qui ne lit pour {entite} que "
                    f"{chemin_affiche(premier)} : ses variables ({', '.join(cles)}) seraient ignorées ; déplacez-les")
    for entite, trouves in par_entite.items():
        vues: dict[str, list[str]] = {}
        for fichier in trouves:
            for cle, ligne in examines.get(fichier, FichierYaml(fichier)).cles.items():
                if cle.startswith("telesante_"):
                    vues.setdefault(cle, []).append(f"{chemin_affiche(fichier)}, ligne {ligne}")
        for cle, endroits in vues.items():
            if len(endroits) > 1:
                erreurs.append(
                    f"{endroits[-1]} : clé « {cle} » : définie par plusieurs fichiers de {entite} "
                    f"({' ; '.join(endroits)}) : Ansible ne garderait que le dernier, en silence ; "
                    "réunissez-les en un seul fichier")
    if erreurs:
        raise ErreurConfiguration(list(dict.fromkeys(erreurs)))


def _host_vars(loader, variables, host) -> dict:
    from ansible.errors import AnsibleError
    from ansible.template import Templar

    key = None
    values: dict = {}
    try:
        values = variables.get_vars(host=host, include_hostvars=False)
        templar = Templar(loader=loader, variables=values)
        templated = {}
        for key, value in values.items():
            if key.startswith("telesante_") or key.startswith("ansible_"):
                templated[key] = templar.template(value)
        return templated
    except AnsibleError as exc:
        where = origine_erreur(exc) or f"hôte {host.name}"
        if key is not None and (SECRET.search(key) or _cite_un_secret(exc.message, values)):
            # Ansible's message quotes the faulty template: part of the secret, or of one it refers to.
            raise ErreurConfiguration([
                f"{where} : variable « {key} » de l'hôte {host.name} : gabarit Jinja en erreur (syntaxe ou variable "
                "indéfinie ; détail non cité : il citerait un secret) ; un secret qui contient « {{ », « {% » ou « {# » s'écrit "
                "avec l'étiquette !unsafe (ex. ansible_password: !unsafe 'mot{%passe')"]) from exc
        detail = " ".join(exc.message.split()).replace("YAML parsing failed:", "YAML illisible :")
        if any(date_error in detail for date_error in ("month must be in", "day is out of range", "year ")):
            # PyYAML builds AAAA-MM-JJ dates itself and gives neither the key nor the line.
            detail += (" (date impossible : vérifiez les dates AAAA-MM-JJ de ce fichier ; entre guillemets, "
                       "telesante nommera la clé fautive)")
        if "vault" in detail.lower():
            detail += " (fournir --fichier-mot-de-passe-vault ou ANSIBLE_VAULT_PASSWORD_FILE)"
        raise ErreurConfiguration([f"{where} : variables illisibles : {detail}"]) from exc


def _cite_un_secret(message: str, values: dict) -> bool:
    """True when a word of an Ansible message appears in the raw value of a secret variable (vault_*, *password*...)."""
    mots = set(re.findall(r"\w{3,}", message))
    for nom, valeur in values.items():
        if SECRET.search(nom) or nom.startswith("vault_"):
            try:
                brut = str(valeur)
            except Exception:  # an undecryptable !vault value: nothing of it can be quoted
                continue
            if any(mot in brut for mot in mots):
                return True
    return False


def charger_configuration(chemin: Path, fichier_vault: Path | None = None) -> Configuration:
    """Read and validate an inventory folder or file; raise ErreurConfiguration if invalid."""
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurConfiguration([f"{chemin} : inventaire introuvable"])
    loader, inventory, variables = _ansible_inventory(chemin, fichier_vault)
    hosts = inventory.get_hosts()
    if not hosts:
        raise ErreurConfiguration([f"{chemin} : l'inventaire ne déclare aucun hôte (ou n'a pas pu être lu)"])
    racine = chemin if chemin.is_dir() else chemin.parent
    par_entite, ignores = _fichiers_de_variables(loader, inventory, racine)
    fichiers_lus = list(dict.fromkeys(f for trouves in par_entite.values() for f in trouves))
    _examiner_fichiers(loader, fichiers_lus, par_entite, ignores=ignores)
    fichiers_lus[:0] = _sources(chemin)
    check = _Validation(chemin)
    per_host = {host.name: _host_vars(loader, variables, host) for host in hosts}

    reseaux, declarations = _reseaux(check, per_host)
    if not any(r.mission for r in reseaux) and not check.erreurs:
        check.erreurs.append(
            f"{chemin} : aucun réseau de mission déclaré (variable « telesante_reseaux », entrées « type: mission ») : "
            f"rien ne serait audité. Fichiers lus : {', '.join(chemin_affiche(f) for f in fichiers_lus)}")
    declared = [name for name, values in per_host.items() if "telesante_plateforme" in values]
    equipements = [e for e in (_equipement(check, name, per_host[name], racine) for name in declared) if e is not None]
    if not declared:
        check.erreurs.append(f"{chemin} : aucun équipement (aucun hôte ne définit « telesante_plateforme »)")
    else:
        _sites_sans_equipement(check, reseaux, declarations, equipements)
        if reseaux:  # without any, « aucun réseau de mission » says it all
            _sondes_isolement(check, equipements, reseaux, per_host)
    autorises = _autorises(check, per_host)
    derogations = _derogations(check, per_host)
    derogations_isolement = _derogations_isolement(check, per_host, reseaux)
    signatures, interdites, hotes_connus = _globales(check, per_host, racine)
    age_max = _age_max_sources(check, per_host)
    fuseau = _fuseau_horaire(check, per_host)
    try:
        identificateur = charger_identificateur(signatures, interdites)
    except SignaturesInvalides as exc:
        check.erreurs.extend(exc.erreurs)
    if check.erreurs:
        # group_vars give the same list to every host: each problem is told once.
        raise ErreurConfiguration(list(dict.fromkeys(check.erreurs)))
    return Configuration(
        racine=racine,
        reseaux=reseaux,
        equipements=equipements,
        autorises=autorises,
        derogations=derogations,
        identificateur=identificateur,
        fichier_hotes_connus=hotes_connus,
        age_max_sources=dt.timedelta(hours=age_max),
        fuseau_horaire=fuseau,
        derogations_isolement=derogations_isolement,
    )


def _merged_list(check: _Validation, per_host: dict, cle: str, identifiant: str | None) -> list[dict]:
    """Union of a list variable over all hosts (group_vars apply to many), by identifier (None: whole entry)."""
    seen: dict[str, dict] = {}
    for values in per_host.values():
        for index, item in enumerate(check.liste(values.get(cle), cle)):
            item = check.dictionnaire(item, f"{cle}[{index}]")
            if item is None:
                continue
            key = str(item.get(identifiant, f"#{index}")) if identifiant else repr(sorted(item.items(), key=str))
            if key in seen and seen[key] != item:
                check.erreur(item, f"{cle}[{index}]", f"« {key} » est défini deux fois différemment")
                continue
            seen.setdefault(key, item)
    return list(seen.values())


def _reseaux(check: _Validation, per_host: dict) -> tuple[list[Reseau], dict[str, tuple[dict, str]]]:
    """The declared networks, and where each was declared (name -> its YAML item, its key)."""
    reseaux = []
    declarations: dict[str, tuple[dict, str]] = {}
    for index, item in enumerate(_merged_list(check, per_host, "telesante_reseaux", "nom")):
        where = f"telesante_reseaux[{index}]"
        check.cles_connues(item, where, CLES_RESEAU)
        nom = check.texte(item, "nom", where)
        site = check.texte(item, "site", where)
        type_ = check.texte(item, "type", where)
        if type_ is not None and type_ not in TYPES_RESEAU:
            check.erreur(item["type"], f"{where}.type", f"« {type_} » inconnu (attendu : mission ou hors_mission)")
        subnets = []
        for j, cidr in enumerate(check.liste(item.get("sous_reseaux"), f"{where}.sous_reseaux")):
            try:
                network = IPNetwork(str(cidr), flags=0)
            except (AddrFormatError, ValueError):
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » (attendu : adresse/longueur, ex. 10.20.110.0/24)")
                continue
            if "/" not in str(cidr):
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » : longueur de préfixe manquante (ex. {network.ip}/24)")
            elif network.network != network.ip:
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » : bits d'hôte non nuls (voulu : {network.cidr} ?)")
            elif network not in subnets:
                subnets.append(network)
        vlans = set()
        for j, vlan in enumerate(check.liste(item.get("vlans"), f"{where}.vlans")):
            if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
                check.erreur(vlan, f"{where}.vlans[{j}]", f"VLAN invalide « {vlan} » (entier de 1 à 4094)")
            else:
                vlans.add(vlan)
        if not subnets and not vlans:
            check.erreur(item, where, "un réseau doit déclarer des sous_reseaux ou des vlans")
        vide_attendu = item.get("vide_attendu", False)
        if not isinstance(vide_attendu, bool):
            check.erreur(vide_attendu, f"{where}.vide_attendu", f"« {vide_attendu} » : true ou false attendu")
        cibles = _cibles_isolement(check, item, where, subnets, type_)
        if nom and site and type_ in TYPES_RESEAU:
            reseaux.append(Reseau(nom, site, TYPES_RESEAU[type_], tuple(subnets), frozenset(vlans),
                                  vide_attendu=vide_attendu is True, cibles_isolement=cibles))
            declarations[nom] = (item, where)
    _memes_sous_reseaux(check, reseaux, declarations)
    _chevauchements(check, reseaux, declarations)
    return reseaux, declarations


def _adresse(check: _Validation, valeur, cle: str) -> IPAddress | None:
    """An IPv4 address written alone (no prefix), or None and an error."""
    try:
        if not isinstance(valeur, str) or "/" in valeur:
            raise ValueError
        adresse = IPAddress(valeur.strip(), flags=0)
        if adresse.version != 4:
            raise ValueError
        return adresse
    except (AddrFormatError, ValueError, TypeError):
        check.erreur(valeur, cle, f"adresse IPv4 invalide « {valeur} » (ex. 10.20.110.10)")
        return None


def _cibles_isolement(check: _Validation, item: dict, where: str, subnets: list[IPNetwork],
                      type_: str | None) -> tuple[CibleIsolement, ...]:
    """`cibles_isolement` of a mission network: addresses (in its subnets) and ports the probes try."""
    if "cibles_isolement" not in item:
        return ()
    cle = f"{where}.cibles_isolement"
    if type_ != "mission":
        check.erreur(item["cibles_isolement"], cle, "réservée aux réseaux de mission (ce que les sondes essaient de joindre)")
        return ()
    cibles = []
    for j, brute in enumerate(check.liste(item["cibles_isolement"], cle)):
        ici = f"{cle}[{j}]"
        if check.dictionnaire(brute, ici) is None:
            continue
        check.cles_connues(brute, ici, CLES_CIBLE_ISOLEMENT)
        if "adresse" not in brute:
            check.erreur(brute, f"{ici}.adresse", "valeur obligatoire manquante")
            continue
        adresse = _adresse(check, brute["adresse"], f"{ici}.adresse")
        if adresse is not None and not any(adresse in s for s in subnets):
            check.erreur(brute["adresse"], f"{ici}.adresse",
                         f"{adresse} hors des sous_reseaux de ce réseau ({', '.join(str(s) for s in subnets) or 'aucun'})")
            adresse = None
        ports = [check.entier(p, f"{ici}.ports[{k}]", 1, 65535) for k, p in
                 enumerate(check.liste(brute.get("ports"), f"{ici}.ports"))]
        nom = check.texte(brute, "nom", ici, obligatoire=False) or ""
        resolveur = brute.get("resolveur", False)
        if not isinstance(resolveur, bool):
            check.erreur(resolveur, f"{ici}.resolveur", f"« {resolveur} » : true ou false attendu")
        if adresse is not None and None not in ports:
            cibles.append(CibleIsolement(str(adresse), tuple(dict.fromkeys(ports)), nom, resolveur is True))
    return tuple(cibles)


def _memes_sous_reseaux(check: _Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]]) -> None:
    """One subnet declared by two networks: an address could not be placed on one of them."""
    premiers: dict[IPNetwork, tuple[Reseau, str]] = {}
    for reseau in reseaux:
        item, where = declarations[reseau.nom]
        for network in reseau.sous_reseaux:
            if network in premiers:
                autre, ou = premiers[network]
                check.erreur(
                    item.get("sous_reseaux"), f"{where}.sous_reseaux",
                    f"sous-réseau {network} déclaré par deux réseaux : « {reseau.nom} » et « {autre.nom} » ({ou})")
            else:
                premiers[network] = (reseau, origine(item.get("sous_reseaux")) or where)


def _chevauchements(check: _Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]]) -> None:
    """A subnet or a site's VLAN may not be both mission and off-mission."""
    mission = [r for r in reseaux if r.mission]
    for other in (r for r in reseaux if not r.mission):
        item, where = declarations[other.nom]
        for network in mission:
            common = IPSet(network.sous_reseaux) & IPSet(other.sous_reseaux)
            if common:
                check.erreur(
                    item.get("sous_reseaux"), f"{where}.sous_reseaux",
                    f"réseau hors mission « {other.nom} » : sous-réseau commun avec le réseau de mission "
                    f"« {network.nom} » ({', '.join(str(c) for c in common.iter_cidrs())})",
                )
            if network.site == other.site and network.vlans & other.vlans:
                check.erreur(
                    item.get("vlans"), f"{where}.vlans",
                    f"réseau hors mission « {other.nom} » : VLAN commun avec le réseau de mission "
                    f"« {network.nom} » ({', '.join(map(str, sorted(network.vlans & other.vlans)))}, site {network.site})",
                )


def _sites_sans_equipement(check: _Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]],
                           equipements: list[Equipement]) -> None:
    """A mission network whose site has no equipment could never be audited (a typo in « site »?)."""
    sites = {e.site for e in equipements}
    for reseau in reseaux:
        if reseau.mission and reseau.site not in sites:
            item, where = declarations[reseau.nom]
            check.erreur(
                item.get("site"), f"{where}.site",
                f"réseau de mission « {reseau.nom} » sur le site « {reseau.site} », où aucun équipement n'est "
                f"déclaré : il ne pourrait pas être audité (sites des équipements : {', '.join(sorted(sites))})",
            )


def _equipement(check: _Validation, nom: str, values: dict, racine: Path) -> Equipement | None:
    plateforme = values["telesante_plateforme"]
    if not isinstance(plateforme, str) or plateforme not in PLATEFORMES:
        decrite = f"« {plateforme} » inconnue" if isinstance(plateforme, str) else f"attendue en texte, pas {_type(plateforme)},"
        check.erreur(
            plateforme,
            "telesante_plateforme",
            f"plateforme {decrite} pour {nom} (connues : {', '.join(sorted(PLATEFORMES))})",
            hote=nom,
        )
        return None
    site = values.get("telesante_site")
    if site is None or (isinstance(site, str) and not site.strip()):
        check.erreur(plateforme, "telesante_site", f"site manquant pour {nom}", hote=nom)
        return None
    if not all([_texte_ou_absent(check, values.get(cle), cle, nom) for cle in TEXTES_EQUIPEMENT]):
        return None
    texte = {cle: None if values.get(cle) is None else str(values[cle]).strip() for cle in TEXTES_EQUIPEMENT}
    port = values.get("ansible_port", 22)
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    port = check.entier(port, "ansible_port", 1, 65535, hote=nom) or 22
    return Equipement(
        nom=nom,
        plateforme=plateforme,
        site=texte["telesante_site"],
        adresse=texte["ansible_host"],
        port_ssh=port,
        utilisateur=texte["ansible_user"],
        cle_privee=texte["ansible_ssh_private_key_file"],
        mot_de_passe=values.get("ansible_password"),
        captures=racine / (texte["telesante_captures"] or f"captures/{nom}"),
        chemin_fichier=texte["telesante_fichier"] or CHEMINS_PAR_DEFAUT.get(plateforme),
        ports_liaison=frozenset(str(p) for p in check.liste(values.get("telesante_ports_liaison"), "telesante_ports_liaison")),
        vlan_par_defaut=None if values.get("telesante_vlan_par_defaut") is None else check.entier(
            values["telesante_vlan_par_defaut"], "telesante_vlan_par_defaut", 1, 4094, hote=nom),
        reseau=texte["telesante_reseau"],
    )


def _texte_ou_absent(check: _Validation, valeur, cle: str, hote: str) -> bool:
    """True when an optional text variable is absent or a text (a number is taken as its text)."""
    if valeur is not None and (isinstance(valeur, bool) or not isinstance(valeur, (str, int))):
        check.erreur(valeur, cle, f"texte attendu, pas {_type(valeur)}", hote=hote)
        return False
    return True


def _type(valeur) -> str:
    """The YAML name of a value's type, for messages."""
    if valeur is None:
        return "une valeur vide"
    if isinstance(valeur, dict):
        return "un dictionnaire"
    if isinstance(valeur, list):
        return "une liste"
    if isinstance(valeur, bool):
        return "un booléen"
    return "un nombre" if isinstance(valeur, (int, float)) else "une valeur de type " + type(valeur).__name__


def _autorises(check: _Validation, per_host: dict) -> dict[str, Autorise]:
    declared: list[tuple[object, str, Autorise]] = []
    for index, item in enumerate(_merged_list(check, per_host, "telesante_equipements_autorises", "mac")):
        where = f"telesante_equipements_autorises[{index}]"
        check.cles_connues(item, where, CLES_AUTORISE)
        mac = check.mac(item.get("mac"), f"{where}.mac", item)
        nom = check.texte(item, "nom", where)
        type_ = check.texte(item, "type", where, obligatoire=False) or "autre"
        if mac and nom:
            declared.append((item.get("mac"), f"{where}.mac", Autorise(mac, nom, type_, "liste des équipements autorisés")))
    for host, values in per_host.items():
        if "telesante_numero_serie" not in values and "telesante_macs_poste" not in values:
            continue
        for j, raw in enumerate(check.liste(values.get("telesante_macs_poste"), "telesante_macs_poste")):
            mac = check.mac(raw, f"telesante_macs_poste[{j}]", hote=host)
            if mac:
                declared.append((raw, "telesante_macs_poste", Autorise(mac, host, "poste DSQ", f"poste {host}")))
        vm_mac = values.get("telesante_mac_vm")
        serial = values.get("telesante_numero_serie")
        if vm_mac is not None:
            mac = check.mac(vm_mac, "telesante_mac_vm", hote=host)
        elif isinstance(serial, str) and serial.strip():
            mac = vm_mac_from_serial(serial)
        else:
            check.erreur(serial, "telesante_numero_serie", f"numéro de série manquant pour le poste {host}", hote=host)
            mac = None
        if mac:
            declared.append((vm_mac or serial, "telesante_mac_vm", Autorise(mac, f"{host} (VM Windows)", "VM DSQ", f"poste {host}")))
    autorises: dict[str, Autorise] = {}
    for raw, cle, autorise in declared:
        previous = autorises.get(autorise.mac)
        if previous and (previous.nom, previous.type) != (autorise.nom, autorise.type):
            check.erreur(
                raw, cle,
                f"la MAC {autorise.mac} est déclarée deux fois : « {previous.nom} » ({previous.origine}) "
                f"et « {autorise.nom} » ({autorise.origine})",
            )
            continue
        autorises[autorise.mac] = autorise
    return autorises


def _date(check: _Validation, valeur, cle: str) -> dt.date | None:
    """An AAAA-MM-JJ date: a YAML date, or a text of exactly that form (not 2026-W52, 20261231, an hour)."""
    if isinstance(valeur, dt.date) and not isinstance(valeur, dt.datetime):
        return valeur
    if isinstance(valeur, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", valeur):
        try:
            return dt.date.fromisoformat(valeur)
        except ValueError:
            pass
    check.erreur(valeur, cle, f"date invalide « {valeur} » (attendu : AAAA-MM-JJ)")
    return None


def _derogations(check: _Validation, per_host: dict) -> dict[str, Derogation]:
    derogations = {}
    for index, item in enumerate(_merged_list(check, per_host, "telesante_derogations", "mac")):
        where = f"telesante_derogations[{index}]"
        check.cles_connues(item, where, CLES_DEROGATION)
        mac = check.mac(item.get("mac"), f"{where}.mac", item)
        justification = check.texte(item, "justification", where)
        if "expiration" not in item:
            check.erreur(item, f"{where}.expiration", "date d'expiration obligatoire (AAAA-MM-JJ)")
            continue
        expiration = _date(check, item["expiration"], f"{where}.expiration")
        if mac and justification and expiration:
            derogations[mac] = Derogation(mac, justification, expiration)
    return derogations


def _globales(check: _Validation, per_host: dict, racine: Path):
    signatures = _merged_list(check, per_host, "telesante_signatures", "nom")
    interdites = None
    hotes_connus = None
    for host, values in per_host.items():
        if "telesante_categories_interdites" in values:
            raw = check.liste(values["telesante_categories_interdites"], "telesante_categories_interdites")
            for j, categorie in enumerate(raw):
                if not isinstance(categorie, str):
                    check.erreur(categorie, f"telesante_categories_interdites[{j}]",
                                 f"nom de catégorie attendu (texte), pas {_type(categorie)}", hote=host)
            interdites = frozenset(c for c in raw if isinstance(c, str))
        fichier = values.get("telesante_fichier_hotes_connus")
        if fichier and _texte_ou_absent(check, fichier, "telesante_fichier_hotes_connus", host):
            hotes_connus = racine / str(fichier).strip()
    return signatures, interdites, hotes_connus


def _age_max_sources(check: _Validation, per_host: dict) -> int:
    """telesante_age_max_sources_heures: hours after which a dated source is stale (one value for all)."""
    valeurs = {}
    for host, values in per_host.items():
        if "telesante_age_max_sources_heures" in values:
            heures = check.entier(values["telesante_age_max_sources_heures"], "telesante_age_max_sources_heures", 1,
                                  hote=host)
            if heures is not None:
                valeurs.setdefault(heures, host)
    if len(valeurs) > 1:
        check.erreurs.append(
            "clé « telesante_age_max_sources_heures » : valeurs différentes selon les hôtes ("
            + ", ".join(f"{heures} pour {host}" for heures, host in valeurs.items())
            + ") : une seule valeur attendue, en général dans group_vars/all/")
    return next(iter(valeurs)) if len(valeurs) == 1 else AGE_MAX_SOURCES_HEURES


def _fuseau_horaire(check: _Validation, per_host: dict) -> str:
    """telesante_fuseau_horaire: the establishment's IANA time zone (America/Montreal by default), one for all."""
    from zoneinfo import available_timezones

    valeurs = {}
    for host, values in per_host.items():
        if "telesante_fuseau_horaire" in values:
            valeur = values["telesante_fuseau_horaire"]
            if not isinstance(valeur, str) or valeur not in available_timezones():
                check.erreur(valeur, "telesante_fuseau_horaire", f"fuseau horaire inconnu « {inerte(str(valeur))} » "
                             "(nom IANA attendu : America/Montreal, America/Toronto...)", hote=host)
                continue
            valeurs.setdefault(valeur, host)
    if len(valeurs) > 1:
        check.erreurs.append(
            "clé « telesante_fuseau_horaire » : valeurs différentes selon les hôtes ("
            + ", ".join(f"{fuseau} pour {host}" for fuseau, host in valeurs.items())
            + ") : une seule valeur attendue, en général dans group_vars/all/")
    return next(iter(valeurs)) if len(valeurs) == 1 else FUSEAU_HORAIRE


def _sondes_isolement(check: _Validation, equipements: list[Equipement], reseaux: list[Reseau],
                      per_host: dict) -> None:
    """An isolation probe names (telesante_reseau) an off-mission network of its site; no other equipment does."""
    for equipement in equipements:
        valeur = per_host[equipement.nom].get("telesante_reseau")
        if equipement.plateforme != "sonde_isolement":
            if equipement.reseau is not None:
                check.erreur(valeur, "telesante_reseau", f"réservée aux sondes d'isolement (plateforme sonde_isolement), "
                                                         f"pas à {equipement.nom} ({equipement.plateforme})", hote=equipement.nom)
            continue
        permis = sorted(r.nom for r in reseaux if not r.mission and r.site == equipement.site)
        if equipement.reseau is None:
            check.erreur(per_host[equipement.nom].get("telesante_plateforme"), "telesante_reseau",
                         f"réseau hors mission de la sonde {equipement.nom} manquant (réseaux hors mission du site "
                         f"« {equipement.site} » : {', '.join(permis) or 'aucun'})", hote=equipement.nom)
        elif equipement.reseau not in permis:
            check.erreur(valeur, "telesante_reseau",
                         f"« {equipement.reseau} » n'est pas un réseau hors mission du site « {equipement.site} » de la "
                         f"sonde {equipement.nom} (réseaux hors mission de ce site : {', '.join(permis) or 'aucun'})",
                         hote=equipement.nom)


def _derogations_isolement(check: _Validation, per_host: dict, reseaux: list[Reseau]) -> list[DerogationIsolement]:
    """telesante_derogations_isolement: declared openings from an off-mission network to a mission address."""
    par_nom = {r.nom: r for r in reseaux}
    derogations = []
    for index, item in enumerate(_merged_list(check, per_host, "telesante_derogations_isolement", None)):
        where = f"telesante_derogations_isolement[{index}]"
        check.cles_connues(item, where, CLES_DEROGATION_ISOLEMENT)
        depuis = check.texte(item, "depuis", where)
        reseau = par_nom.get(depuis) if depuis else None
        if depuis and (reseau is None or reseau.mission):
            hors = ", ".join(sorted(r.nom for r in reseaux if not r.mission)) or "aucun"
            check.erreur(item["depuis"], f"{where}.depuis",
                         f"« {depuis} » n'est pas un réseau hors mission déclaré (réseaux hors mission : {hors})")
            reseau = None
        cible = None
        if "cible" not in item:
            check.erreur(item, f"{where}.cible", "valeur obligatoire manquante")
        else:
            cible = _adresse(check, item["cible"], f"{where}.cible")
        if cible is not None and reseau is not None and not any(
                cible in s for r in reseaux if r.mission and r.site == reseau.site for s in r.sous_reseaux):
            check.erreur(item["cible"], f"{where}.cible",
                         f"{cible} n'est dans aucun réseau de mission du site « {reseau.site} »")
            cible = None
        port = None if item.get("port") is None else check.entier(item["port"], f"{where}.port", 1, 65535)
        methode = item.get("methode")
        if methode is not None and methode not in NOMS_METHODES:
            check.erreur(methode, f"{where}.methode",
                         f"méthode inconnue « {methode} » (connues : {', '.join(NOMS_METHODES)})")
        justification = check.texte(item, "justification", where)
        if "expiration" not in item:
            check.erreur(item, f"{where}.expiration", "date d'expiration obligatoire (AAAA-MM-JJ)")
            continue
        expiration = _date(check, item["expiration"], f"{where}.expiration")
        if reseau and cible is not None and justification and expiration and (
                item.get("port") is None or port is not None) and (methode is None or methode in NOMS_METHODES):
            derogations.append(DerogationIsolement(reseau.nom, str(cible), justification, expiration, port, methode))
    return derogations
