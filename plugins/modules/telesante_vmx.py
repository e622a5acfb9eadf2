#!/usr/bin/python
# -*- coding: utf-8 -*-
#
# telesante_vmx: edit VMware .vmx files (Workstation / Fusion) key by key,
# leaving every untouched byte of the file exactly as it was.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: telesante_vmx
short_description: Modifie les clés d'un fichier .vmx VMware sans toucher au reste
description:
  - Ajoute, modifie ou supprime des clés C(clé = "valeur") dans le fichier de configuration
    C(.vmx) d'une machine virtuelle VMware Fusion ou Workstation.
  - Les lignes non concernées restent identiques à l'octet près, y compris leur ordre, les
    commentaires, les lignes vides et les fins de ligne (CRLF ou LF).
  - Le fichier est lu et réécrit dans l'encodage déclaré par sa clé C(.encoding)
    (par exemple C(windows-1252) ou C(Shift_JIS)) ; UTF-8 si la clé est absente.
    Modifier C(.encoding) via O(settings) réencode tout le fichier.
  - Les clés sont comparées sans tenir compte de la casse, comme le fait VMware ; la graphie
    d'origine de la clé est conservée. Une clé présente plusieurs fois est modifiée
    (ou supprimée) à chacune de ses occurrences.
  - Les valeurs sont échappées comme le fait VMware, C(|XX) en hexadécimal pour
    C("), C(|), C(#) et les caractères de contrôle ; elles sont déséchappées à la lecture.
  - Un C(.vmx) chiffré par VMware (clé C(encryption.keySafe) ou C(encryption.data)) n'est
    jamais modifié ; le module échoue en nommant les clés non appliquées et ce qu'il faut faire.
    VMware ne documente aucune clé modifiable à la main dans un C(.vmx) chiffré (ses réglages
    sont dans C(encryption.data), protégés par le mot de passe ; guide de Fusion 13,
    « Encrypt a Virtual Machine », et de Workstation Pro, « Encrypting and Restricting Virtual
    Machines ») ; seul un fichier déjà conforme est signalé inchangé.
  - L'écriture est atomique (fichier temporaire dans le même répertoire puis renommage) et
    conserve le mode, et si possible le propriétaire, du fichier.
version_added: "0.1.0"
# « (!UNKNOWN) » : l'équipe n'a pas de compte GitHub, forme qu'admet validate-modules (Nom (@compte)).
author:
  - Équipe télésanté (!UNKNOWN)
options:
  path:
    description:
      - Chemin du fichier C(.vmx) à modifier.
      - Un lien symbolique est suivi et c'est sa cible qui est réécrite.
    type: path
    required: true
  settings:
    description:
      - Dictionnaire C(clé => valeur) à appliquer.
      - Une valeur C(null) supprime la clé.
      - Les booléens sont écrits C(TRUE) ou C(FALSE) et les nombres sous forme de texte.
      - Une nouvelle clé est ajoutée à la fin du fichier, dans l'ordre du dictionnaire.
    type: dict
    required: true
  backup:
    description:
      - Crée une copie horodatée du fichier d'origine avant toute modification.
    type: bool
    default: true
  refuse_if_running:
    description:
      - Refuse de modifier le fichier lorsque la machine virtuelle semble en cours
        d'exécution, c'est-à-dire lorsqu'un verrou C(*.lck) (fichier ou répertoire,
        par exemple C(<vm>.vmx.lck)) existe dans le répertoire du C(.vmx).
      - Le refus n'a lieu que si une modification est nécessaire ; un fichier déjà
        conforme est signalé inchangé même si la VM tourne.
    type: bool
    default: true
  create:
    description:
      - Crée le fichier s'il n'existe pas, avec C(.encoding = "UTF-8") en première ligne.
      - Si V(false) et que le fichier est absent, le module échoue.
    type: bool
    default: false
attributes:
  check_mode:
    description: Peut s'exécuter en mode C(--check) ; rien n'est écrit.
    support: full
  diff_mode:
    description: Renvoie le contenu avant et après en mode C(--diff).
    support: full
  platform:
    description: Cible des postes macOS ou Linux disposant de VMware.
    support: full
    platforms: posix
notes:
  - Une valeur contenant des caractères que l'encodage déclaré ne peut pas représenter est
    refusée ; changer d'abord C(.encoding) en C(UTF-8) dans O(settings).
  - VMware réécrit le C(.vmx) quand la VM tourne ou s'arrête ; éteindre la VM avant de
    modifier sa configuration.
"""

EXAMPLES = r"""
- name: Carte réseau vmxnet3 en NAT et 4 Go de mémoire
  sante_quebec.telesante.telesante_vmx:
    path: "/Users/{{ ansible_user }}/Virtual Machines.localized/DSQ.vmwarevm/DSQ.vmx"
    settings:
      ethernet0.virtualDev: vmxnet3
      ethernet0.connectionType: nat
      memsize: 4096
      isolation.tools.copy.disable: true

- name: Retirer le lecteur de disquette et le port série ThinPrint, sans copie de sauvegarde
  sante_quebec.telesante.telesante_vmx:
    path: /srv/vm/DSQ.vmwarevm/DSQ.vmx
    settings:
      floppy0.present: null
      serial0.present: null
    backup: false

- name: Créer un .vmx minimal s'il n'existe pas encore
  sante_quebec.telesante.telesante_vmx:
    path: /srv/vm/Gabarit.vmwarevm/Gabarit.vmx
    create: true
    settings:
      config.version: "8"
      virtualHW.version: "19"
      displayName: Gabarit DSQ
"""

RETURN = r"""
changed_keys:
  description: Clés (dans la graphie de O(settings)) dont la valeur a été modifiée, ajoutée ou supprimée.
  returned: always
  type: list
  elements: str
  sample: ["ethernet0.virtualDev", "memsize"]
encoding:
  description: Encodage déclaré par C(.encoding) après modification (C(UTF-8) si absent).
  returned: always
  type: str
  sample: windows-1252
backup_file:
  description: Chemin de la copie de sauvegarde créée avant la modification.
  returned: when changed, O(backup=true), the file existed and not in check mode
  type: str
  sample: /srv/vm/DSQ.vmwarevm/DSQ.vmx.4242.2024-05-02@14:03:11~
encrypted:
  description: Clés de chiffrement trouvées quand le module refuse de modifier une VM chiffrée.
  returned: when the change is refused because the .vmx is encrypted
  type: list
  elements: str
  sample: ["encryption.keySafe", "encryption.data"]
lock:
  description: Verrou VMware trouvé quand le module refuse de modifier une VM en cours d'exécution.
  returned: when the change is refused because of O(refuse_if_running)
  type: str
  sample: /srv/vm/DSQ.vmwarevm/DSQ.vmx.lck
diff:
  description: Contenu avant et après, renvoyé en mode C(--diff).
  returned: when diff mode is enabled
  type: dict
  sample: {"before": "memsize = \"2048\"\n", "after": "memsize = \"4096\"\n"}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sante_quebec.telesante.plugins.module_utils.vmx import (
    VmxError, apply_settings, decode_for_display, encrypted_message, encryption_keys, find_lock,
    new_document, parse_vmx, write_atomic)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", required=True),
            backup=dict(type="bool", default=True),
            refuse_if_running=dict(type="bool", default=True),
            create=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    path = os.path.realpath(module.params["path"])
    settings = module.params["settings"]

    exists = os.path.exists(path)
    if exists and not os.path.isfile(path):
        module.fail_json(msg=u"%s n'est pas un fichier .vmx ordinaire" % path)
    if not exists and not module.params["create"]:
        module.fail_json(msg=u"Le fichier %s est introuvable (utiliser create: true pour le créer)" % path)

    try:
        if exists:
            with open(path, "rb") as handle:
                before = handle.read()
            doc = parse_vmx(before)
        else:
            before = b""
            doc = new_document()
        before_codec = doc.source_codec
        changed_keys = apply_settings(doc, settings)
        after = doc.to_bytes()
    except VmxError as exc:
        module.fail_json(msg=u"%s : %s" % (path, exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg=u"Impossible de lire %s : %s" % (path, exc))

    changed = after != before or not exists
    result = dict(changed=changed, changed_keys=changed_keys, encoding=doc.encoding)

    encrypted = encryption_keys(parse_vmx(before)) if exists else []
    if changed and encrypted:
        module.fail_json(msg=encrypted_message(path, encrypted, changed_keys), changed=False,
                         changed_keys=changed_keys, encoding=doc.encoding, encrypted=encrypted)

    if changed and module.params["refuse_if_running"]:
        lock = find_lock(path)
        if lock:
            module.fail_json(msg=u"La VM %s est en cours d'exécution (verrou %s): le .vmx "
                                 u"n'est pas modifié" % (path, lock),
                             changed=False, changed_keys=changed_keys, lock=lock)

    if module._diff:
        result["diff"] = dict(
            before_header=path, after_header=path,
            before=decode_for_display(before, before_codec),
            after=decode_for_display(after, doc.codec),
        )

    if changed and not module.check_mode:
        if exists and module.params["backup"]:
            result["backup_file"] = module.backup_local(path)
        try:
            write_atomic(path, after)
        except (IOError, OSError) as exc:
            result["changed"] = False
            module.fail_json(msg=u"Impossible d'écrire %s : %s" % (path, exc), **result)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
