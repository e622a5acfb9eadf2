"""The inventory read by ansible-core itself: Vault, group_vars and host_vars, templating; files examined before Ansible parses them."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from telesante.fichiers_yaml import FichierYaml, examiner
from telesante.inventaire.validation import SECRET, ErreurConfiguration
from telesante.origine import chemin_affiche, origine_erreur


def inventaire_ansible(chemin: Path, fichier_vault: Path | None):
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
    examiner_fichiers(loader, sources_inventaire(chemin), {}, variables=False)
    try:
        inventory = InventoryManager(loader=loader, sources=[str(chemin)])
    except AnsibleError as exc:
        raise ErreurConfiguration([f"{chemin} : inventaire Ansible illisible : {exc.message}"]) from exc
    return loader, inventory, VariableManager(loader=loader, inventory=inventory)


def sources_inventaire(chemin: Path) -> list[str]:
    """The inventory files themselves: the given file, or the YAML files of the given folder."""
    if chemin.is_file():
        return [str(chemin)]
    return [str(f) for f in sorted(chemin.iterdir())
            if f.is_file() and not f.name.startswith(".") and f.suffix in ("", ".yml", ".yaml", ".json")]


def fichiers_de_variables(loader, inventory, racine: Path) -> tuple[dict[str, list[str]], dict[str, tuple[str, list[str]]]]:
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


def examiner_fichiers(loader, fichiers: list[str], par_entite: dict[str, list[str]], variables: bool = True,
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


def variables_hote(loader, variables, host) -> dict:
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
