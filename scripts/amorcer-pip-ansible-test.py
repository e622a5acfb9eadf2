"""Amorce de pip pour les environnements virtuels d'`ansible-test sanity`, sans Internet.

ansible-test crée chaque environnement de test sans pip (`python -m venv --without-pip`), puis
y lance le script get-pip.py qu'il télécharge depuis ci-files.testing.ansible.com, injoignable
ici. Il prend d'abord celui qu'il trouve en cache, `~/.ansible/test/cache/get_pip_<version>.py`
(`ansible_test/_util/target/setup/requirements.py`, fonction `bootstrap`), ce que son propre
message d'erreur conseille de remplir à la main. `make sanity-collection` y copie ce script,
avec à côté la roue de pip de la version exigée, téléchargée depuis PyPI.

Comme get-pip.py (https://github.com/pypa/get-pip, `templates/default.py`), il exécute pip
depuis une roue mise dans sys.path puis lance `pip install --upgrade --force-reinstall` avec
ses arguments ; ansible-test lui passe `pip==<version> --no-setuptools --no-wheel`. Seule
différence : pip s'installe depuis la roue voisine (`--no-index`), jamais depuis un index.
"""

import glob
import os
import sys

# Options propres à get-pip.py, que pip ne connaît pas : ansible-test passe toujours les deux.
OPTIONS_DE_GET_PIP = ("--no-setuptools", "--no-wheel")


def main():
    """Installe pip dans l'interpréteur courant depuis la roue rangée à côté de ce script."""
    dossier = os.path.dirname(os.path.abspath(__file__))
    roues = sorted(glob.glob(os.path.join(dossier, "pip-*-py3-none-any.whl")))
    if len(roues) != 1:
        sys.exit("amorce de pip : une seule roue pip-*-py3-none-any.whl attendue dans %s, trouvé %d"
                 " (relancez make sanity-collection)" % (dossier, len(roues)))
    sys.path.insert(0, roues[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    arguments = [a for a in sys.argv[1:] if a not in OPTIONS_DE_GET_PIP]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall", "--no-index",
                       "--find-links", dossier] + arguments))


if __name__ == "__main__":
    main()
