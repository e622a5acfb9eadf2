# Les deux commandes : `make demo` et `make test`. Elles créent .venv au besoin.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLE := $(VENV)/.installe

.PHONY: demo test test-rapide paquets-systeme benchmarks nettoyer collection sanity-collection

$(INSTALLE): pyproject.toml
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || scripts/installer-python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

## Audit de l'inventaire de démonstration, hors ligne (captures embarquées). Ses captures datent de la
## nuit du 2026-11-21 : --date les juge à ce jour-là (âge des sources, dérogations), quel que soit aujourd'hui.
demo: $(INSTALLE)
	@$(VENV)/bin/telesante audit -i inventaires/exemple/hosts.yml --date 2026-11-21 -f terminal,json,csv,junit,html -o rapports/exemple; \
	code=$$?; \
	case $$code in \
	  0|1|2) sens=$$($(PY) -m telesante.codes $$code);; \
	  *) echo "Échec de la démonstration (code $$code)"; exit $$code;; \
	esac; \
	echo; echo "Démonstration terminée : l'audit a rendu le code $$code ($$sens)."; \
	echo "Rapports écrits dans rapports/exemple/ (rapport.json, rapport.csv, rapport-junit.xml, rapport.html)."

## Paquets Debian des tests (laboratoire réseau, Mac simulé) : installés s'il en manque.
paquets-systeme:
	@if [ -x scripts/installer-paquets-systeme ]; then scripts/installer-paquets-systeme; fi

## Tous les tests, par étage (marqueurs posés par tests/conftest.py) : d'abord les tests unitaires
## rapides en parallèle (pytest-xdist, un processus par cœur), puis tous les autres sur deux processus :
## laboratoire réseau, Mac simulés, provisionnement, serveur d'audit, navigateur et tests « lent »
## (la vraie commande, ansible-playbook, des signaux). Leurs hôtes de test (espaces de noms, liens de
## gestion) sont nommés par processus et ne se marchent jamais dessus ; les tests d'un fichier qui
## partagent un hôte construit une fois par module restent ensemble (--dist loadscope, voir
## tests/conftest.py). Les deux passes sont toujours lancées ; le code est celui de la première qui
## échoue. La seconde affiche ses 25 tests les plus longs (où va le temps de la CI).
test: $(INSTALLE) paquets-systeme
	$(PY) -m pytest -m "unitaire and not lent" -n auto; rapides=$$?; \
	$(PY) -m pytest -m "not (unitaire and not lent)" -n 2 --dist loadscope --no-loadscope-reorder --durations=25; autres=$$?; \
	if [ $$rapides -ne 0 ]; then exit $$rapides; fi; exit $$autres

## Les tests unitaires rapides (moins d'une minute) : ni root, ni espace de noms, ni navigateur,
## ni les tests marqués « lent ».
test-rapide: $(INSTALLE)
	$(PY) -m pytest -m "unitaire and not lent" -n auto -q

## Mesures de performance (hors des tests chronométrés).
benchmarks: $(INSTALLE)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## La collection sante_quebec.telesante : archive dans build/ (ansible-galaxy collection build).
collection: $(INSTALLE)
	$(VENV)/bin/ansible-galaxy collection build . --output-path build --force

## ansible-test sanity sur la collection, installée dans build/sanity/ansible_collections/sante_quebec/telesante
## (ansible-test exige ce chemin) : résultats dans build/sanity/.../tests/output. ansible-test crée un
## environnement virtuel par test (dépendances exactes de ansible_test/_data/requirements/sanity.*.txt,
## prises sur PyPI) et l'amorce par un get-pip.py qu'il télécharge hors de PyPI, injoignable ici, sauf
## s'il le trouve dans son cache ~/.ansible/test/cache. HOME=build/ansible-test lui donne un cache à
## nous : scripts/amorcer-pip-ansible-test.py y remplace get-pip.py, avec la roue de pip qu'ansible-test
## exige, prise sur PyPI. Ses environnements y restent d'un lancement à l'autre (make nettoyer les retire).
MAISON_ANSIBLE_TEST := $(CURDIR)/build/ansible-test
CACHE_ANSIBLE_TEST := $(MAISON_ANSIBLE_TEST)/.ansible/test/cache
sanity-collection: collection
	rm -rf build/sanity
	$(VENV)/bin/ansible-galaxy collection install build/sante_quebec-telesante-$$(sed -n 's/^version: //p' galaxy.yml).tar.gz -p build/sanity --force
	version_python=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') && \
	    version_pip=$$($(PY) -c 'import sys, types; from ansible_test._internal.python_requirements import get_venv_packages; print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])' "$$version_python") && \
	    mkdir -p $(CACHE_ANSIBLE_TEST) && rm -f $(CACHE_ANSIBLE_TEST)/pip-*.whl && \
	    $(PY) -m pip download --quiet --no-deps --only-binary :all: -d $(CACHE_ANSIBLE_TEST) "pip==$$version_pip" && \
	    cp scripts/amorcer-pip-ansible-test.py $(CACHE_ANSIBLE_TEST)/get_pip_$$(echo "$$version_pip" | tr . _).py && \
	    cd build/sanity/ansible_collections/sante_quebec/telesante && \
	    HOME=$(MAISON_ANSIBLE_TEST) ANSIBLE_TEST_CONTENT_ROOT="$$PWD" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ansible-test sanity --python "$$version_python" --color no

nettoyer:
	rm -rf $(VENV) rapports .pytest_cache .hypothesis build
