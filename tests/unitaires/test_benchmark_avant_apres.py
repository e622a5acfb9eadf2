"""Smoke test of benchmarks/avant_apres.py on a small data set.

No timing assertion (the figures belong to the benchmark): the test checks that the
earlier revision is extracted and run beside the current package on the same data, that
the current findings are those the generator planted, and that a revision that cannot be
read gives the documented exit code and a French message.
"""

import pytest

N = 20_000


@pytest.fixture(scope="module")
def banc():
    """benchmarks/avant_apres.py, imported (the project root is on sys.path)."""
    from benchmarks import avant_apres

    return avant_apres


def test_both_versions_run_on_the_same_data(banc, capsys):
    code = banc.main(["--observations", str(N), "--essais", "1", "--echantillon", "500"])
    sortie = capsys.readouterr().out
    assert code in (0, 1), sortie  # 2 would mean wrong findings; 1 only a timing goal (small N, noisy)
    assert f"Avant : révision {banc.AVANT[:12]}" in sortie
    assert "PASS   après : constats identiques aux attendus du générateur" in sortie
    avant = next(ligne for ligne in sortie.splitlines() if ligne.startswith("Constats actifs avant"))
    apres = next(ligne for ligne in sortie.splitlines() if ligne.startswith("Constats actifs après"))
    # The earlier version knew no finding outside the declared networks; the current one does.
    assert "critique / categorie_interdite" in avant and "reseau_non_declare" not in avant
    assert "reseau_non_declare" in apres


def test_the_process_is_left_as_it_was(banc):
    """The earlier version is loaded apart: afterwards, the very same `telesante` modules are
    loaded as before (other tests of this process keep their classes and exceptions)."""
    import sys

    import telesante.politique

    avant = {nom: module for nom, module in sys.modules.items() if nom.startswith("telesante")}
    banc.main(["--observations", "2000", "--essais", "1", "--echantillon", "100"])
    apres = {nom: module for nom, module in sys.modules.items() if nom.startswith("telesante")}
    assert apres == avant  # same names, same module objects
    assert sys.modules["telesante.politique"] is telesante.politique


def test_unknown_revision_exit_code_3(banc, capsys):
    assert banc.main(["--avant", "0" * 40, "--observations", "100"]) == 3
    erreur = capsys.readouterr().err
    assert "révision 0000000000000000000000000000000000000000 illisible" in erreur
    assert "clone git complet" in erreur


def test_the_earlier_version_reads_its_own_signatures(banc, tmp_path):
    """Its signatures are read at run time by module name (importlib.resources): the
    earlier version must read those of its revision, not the current ones."""
    from telesante.identification import charger_identificateur

    avant = banc.charger_version(banc.extraire(banc.AVANT, tmp_path))
    with banc.en_place(avant):
        anciennes = {signature.nom for signature in avant["charger_identificateur"]().signatures}
    actuelles = {signature.nom for signature in charger_identificateur().signatures}
    assert anciennes and anciennes < actuelles  # issue 10 (point I) only added signatures
