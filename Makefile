# Les deux commandes : `make demo` et `make test`. Elles créent .venv au besoin.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLE := $(VENV)/.installe

.PHONY: demo test paquets-systeme benchmarks nettoyer

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

## Tous les tests.
test: $(INSTALLE) paquets-systeme
	$(PY) -m pytest

## Mesures de performance (hors des tests chronométrés).
benchmarks: $(INSTALLE)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

nettoyer:
	rm -rf $(VENV) rapports .pytest_cache .hypothesis
