"""Property-based tests: any input gives observations or a clean error, never a traceback."""

from __future__ import annotations

import functools
import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.plateformes import PLATEFORMES
from telesante.identification import charger_identificateur
from telesante.inventaire import ErreurConfiguration, charger_configuration
from telesante.mac import MacInvalide, est_administree_localement, normaliser_mac
from tests.conftest import EXEMPLE, FIXTURES

macs = st.integers(min_value=0, max_value=2**48 - 1)


def _formats(value: int) -> list[str]:
    hexa = f"{value:012x}"
    pairs = [hexa[i:i + 2] for i in range(0, 12, 2)]
    return [":".join(pairs), "-".join(pairs).upper(), f"{hexa[:4]}.{hexa[4:8]}.{hexa[8:]}", f"{hexa[:6]}-{hexa[6:]}", hexa]


@given(macs)
def test_toutes_les_notations_donnent_la_meme_mac(value):
    canonical = {normaliser_mac(text) for text in _formats(value)}
    assert len(canonical) == 1
    [mac] = canonical
    assert len(mac) == 17 and mac == mac.lower()
    assert normaliser_mac(mac) == mac  # idempotent
    assert est_administree_localement(mac) == bool(value >> 41 & 1)


@given(st.text(max_size=40))
def test_mac_quelconque_valide_ou_erreur_propre(text):
    try:
        mac = normaliser_mac(text)
    except MacInvalide as error:
        assert "adresse MAC" in str(error)
    else:
        assert normaliser_mac(mac) == mac


LECTURES = [(platform, lecture) for platform, entree in PLATEFORMES.items() for lecture in entree.lectures]
SAMPLES = {path.parts[-3]: path.read_text() for path in (FIXTURES / "sorties-equipements").glob("*/*/*.raw")}
SAMPLES |= {"dnsmasq": (FIXTURES / "baux-dhcp/dnsmasq-maison.leases").read_text(),
            "isc_dhcpd": (FIXTURES / "baux-dhcp/isc-dhcpd.leases").read_text()}


def _mutations(sample: str):
    """Arbitrary text, or a real output cut, spliced or corrupted anywhere."""
    lines = sample.splitlines(True)
    return st.one_of(
        st.text(max_size=300),
        st.integers(0, len(sample)).map(lambda cut: sample[:cut]),
        st.tuples(st.integers(0, max(len(lines) - 1, 0)), st.text(max_size=60)).map(
            lambda t: "".join(lines[: t[0]] + [t[1] + "\n"] + lines[t[0]:])
        ),
        st.tuples(st.integers(0, max(len(sample) - 1, 0)), st.characters()).map(
            lambda t: sample[: t[0]] + t[1] + sample[t[0] + 1:]
        ),
    )


@pytest.mark.parametrize("platform, lecture", LECTURES, ids=lambda x: getattr(x, "commande", x))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_analyseur_jamais_de_trace(platform, lecture, data):
    text = data.draw(_mutations(SAMPLES.get(platform, "[]")))
    try:
        observations = lecture.analyser(text, "eq", "src")
    except SortieIllisible as error:
        assert error.message and (error.ligne is None or error.ligne >= 1)
    else:
        assert all(o.mac is None or len(o.mac) == 17 for o in observations)


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.text(max_size=20),
    st.lists(st.text(max_size=10), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["10.0.0.0/33", "10.0.0.300/24", "fe80::/10", "00:11:22:33:44", "2026-13-01", "{{ oops", "mission"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fichier=st.sampled_from(["reseaux.yml", "autorises.yml", "derogations.yml"]),
    index=st.integers(0, 3),
    cle=st.sampled_from(["nom", "site", "type", "sous_reseaux", "vlans", "mac", "justification", "expiration"]),
    valeur=VALUES,
)
def test_inventaire_quelconque_valide_ou_erreur_propre(tmp_path_factory, fichier, index, cle, valeur):
    folder = tmp_path_factory.mktemp("inv")
    (folder / "group_vars/all").mkdir(parents=True)
    (folder / "hosts.yml").write_text((EXEMPLE / "hosts.yml").read_text())
    for name in ("site_hopital_nord.yml", "site_clinique_sud.yml"):
        (folder / "group_vars" / name).write_text((EXEMPLE / "group_vars" / name).read_text())
    for name in ("reseaux.yml", "autorises.yml", "derogations.yml"):
        data = yaml.safe_load((EXEMPLE / "group_vars/all" / name).read_text())
        if name == fichier:
            items = next(iter(data.values()))
            items[index % len(items)][cle] = valeur
        (folder / "group_vars/all" / name).write_text(json.dumps(data, default=str))
    try:
        charger_configuration(folder / "hosts.yml")
    except ErreurConfiguration as error:
        assert error.erreurs and all(isinstance(e, str) and " : " in e for e in error.erreurs)


# Host name expressions whose anchoring is easy to get wrong: the identification tries
# the expressions anchored at the start of a name only there (a speed-up); it must find
# exactly what a plain search of every expression finds, in the same order.
EXPRESSIONS_PIEGES = ["^a|b", "^(a|b)x", "^[|]a", r"^x\|y", "^[]a]b", "^[^]a]y", "b$", "^ab", "^(?:a|x)b",
                      "(?=a)b", "^(?i:X)y", "^a(?#|)x", "[^a]b|^y", "^(?x:a#(\n)|b"]


@functools.cache
def _identificateur_piege(expression: str):
    return charger_identificateur([{"nom": "piège", "categorie": "grand_public", "noms_hote": [expression]}])


@pytest.mark.parametrize("expression", EXPRESSIONS_PIEGES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nom=st.text(alphabet="abxyAB|^$()[]-.", max_size=8))
def test_noms_d_hote_identifies_comme_par_une_recherche_de_chaque_expression(expression, nom):
    identificateur = _identificateur_piege(expression)
    attendu = next((s.nom for s in identificateur.signatures
                    if any(re.search(e, nom, re.IGNORECASE) for e in s.motifs_noms_hote)), None)
    assert identificateur.identifier(None, [nom]).signature == attendu
