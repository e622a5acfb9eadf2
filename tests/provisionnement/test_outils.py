"""The stand-in written for the provisioning: `hdiutil makehybrid` (tests/provisionnement/outils)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .iso import lire_iso, nom_de_volume

HDIUTIL = Path(__file__).resolve().parent / "outils" / "hdiutil"


def _hdiutil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(HDIUTIL), *args], capture_output=True, text=True, timeout=60)


def test_makehybrid_grave_une_vraie_image_iso_joliet(tmp_path):
    source = tmp_path / "autounattend"
    (source / "sous-dossier").mkdir(parents=True)
    (source / "autounattend.xml").write_text("<unattend>é</unattend>\n", encoding="utf-8")
    (source / "sous-dossier" / "Un nom très long.txt").write_bytes(b"x" * 5000)
    image = tmp_path / "autounattend.iso"
    resultat = _hdiutil("makehybrid", "-iso", "-joliet", "-default-volume-name", "AUTOUNATTEND",
                        "-o", str(image), str(source))
    assert resultat.returncode == 0, resultat.stderr
    assert "Creating hybrid image..." in resultat.stdout
    assert nom_de_volume(image) == "AUTOUNATTEND"
    joliet = lire_iso(image)
    assert joliet["autounattend.xml"] == "<unattend>é</unattend>\n".encode("utf-8")
    assert joliet["sous-dossier/Un nom très long.txt"] == b"x" * 5000
    primaire = lire_iso(image, joliet=False)
    assert primaire["AUTOUNAT.XML"] == joliet["autounattend.xml"]


def test_makehybrid_refuse_d_ecraser_sans_ov(tmp_path):
    source = tmp_path / "s"
    source.mkdir()
    (source / "a.txt").write_text("a")
    image = tmp_path / "a.iso"
    assert _hdiutil("makehybrid", "-iso", "-o", str(image), str(source)).returncode == 0
    refus = _hdiutil("makehybrid", "-iso", "-o", str(image), str(source))
    assert refus.returncode == 1 and "File exists" in refus.stderr
    assert _hdiutil("makehybrid", "-iso", "-ov", "-o", str(image), str(source)).returncode == 0


def test_makehybrid_refuse_les_options_inconnues_ou_non_modelisees(tmp_path):
    source = tmp_path / "s"
    source.mkdir()
    inconnue = _hdiutil("makehybrid", "-iso", "--joliet", "-o", str(tmp_path / "a.iso"), str(source))
    assert inconnue.returncode == 1 and "unrecognized option" in inconnue.stderr
    hfs = _hdiutil("makehybrid", "-hfs", "-o", str(tmp_path / "a.iso"), str(source))
    assert hfs.returncode == 1 and "-hfs" in hfs.stderr
    assert not (tmp_path / "a.iso").exists()


def test_les_autres_verbes_vont_a_l_outil_du_mac_simule(tmp_path):
    # Without the simulated Mac's hdiutil beside it, the wrapper says so instead of guessing.
    resultat = _hdiutil("attach", str(tmp_path / "x.dmg"))
    assert resultat.returncode == 1
    assert "Mac simulé" in resultat.stderr
