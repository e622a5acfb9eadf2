"""The HTML report opened in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

TELESANTE = Path(sys.executable).with_name("telesante")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>document.title="pirate"</script><img/src=x/onerror=alert(1)>'  # no spaces: a lease field


class _Dom(HTMLParser):
    """Elements and text of the DOM that the browser serialized."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._stack.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90,
    )


@pytest.fixture
def rapport_html(exemple, tmp_path) -> Path:
    if CHROMIUM is None:
        pytest.skip("Chromium absent : scripts/installer-paquets-systeme l'installe (root)")
    leases = exemple.parent / "captures/dhcp-nord/dnsmasq.leases"
    leases.write_text(leases.read_text().replace("PORTABLE-PERSO", HOSTILE))
    result = subprocess.run([TELESANTE, "audit", "-i", exemple, "-f", "html,json", "-o", tmp_path / "r",
                             "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    return tmp_path / "r" / "rapport.html"


def test_le_navigateur_affiche_verdict_et_constats(rapport_html, tmp_path):
    result = _chromium("--dump-dom", rapport_html.as_uri(), profile=tmp_path / "profil")
    assert result.returncode == 0, result.stderr
    dom = _Dom()
    dom.feed(result.stdout)
    text = " ".join(dom.text)
    assert "Code 2 : incomplet" in text
    rows = [attrs for tag, attrs in dom.tags if tag == "tr" and attrs.get("class", "").startswith(("critique", "a-verifier"))]
    assert len(rows) == 6  # 5 active findings and the one silenced by a dérogation
    assert sum("critique" in r["class"] for r in rows) == 4
    assert "Google Nest Hub" in text and "sw-nord-01 Gi1/0/7 (VLAN 110)" in text
    assert ("7 équipements (dont 1 incomplet), 19 appareils ; 3 critiques, 2 à vérifier, 1 levé par dérogation."
            in " ".join(text.split()))


def test_nom_d_hote_hostile_reste_du_texte(rapport_html, tmp_path):
    result = _chromium("--dump-dom", rapport_html.as_uri(), profile=tmp_path / "profil")
    dom = _Dom()
    dom.feed(result.stdout)
    assert not any(tag in ("script", "img") for tag, _attrs in dom.tags)
    assert any("<script>" in chunk for chunk in dom.text)  # shown as text, never run
    assert "<title>Audit telesante" in result.stdout


def test_capture_d_ecran(rapport_html, tmp_path):
    image = tmp_path / "rapport.png"
    result = _chromium(f"--screenshot={image}", "--window-size=1400,1000", rapport_html.as_uri(),
                       profile=tmp_path / "profil")
    assert result.returncode == 0, result.stderr
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 10_000


def test_controles_d_un_nom_mdns_visibles_dans_le_navigateur(exemple, tmp_path):
    """ESC, NUL and U+202E in an mDNS name: the page is written, the browser shows each as its
    escape (nothing hidden, nothing reordered), and `javascript:` stays text. (A lone UTF-16 half
    makes the sensor's file corrupt: tests/cas/captures-mdns-demi-caractere-utf16.)"""
    if CHROMIUM is None:
        pytest.skip("Chromium absent : scripts/installer-paquets-systeme l'installe (root)")
    mdns = exemple.parent / "captures/sonde-nord/mdns.json"
    hostile = "amazon\\u001b]0;pwn\\u0007\\u0000\\u202etxt.exe<a href=javascript:alert(1)>x</a>"
    mdns.write_text(mdns.read_text().replace("amazon-5c1e9a03f._amzn", hostile + "._amzn"))
    result = subprocess.run([TELESANTE, "audit", "-i", exemple, "-f", "html", "-o", tmp_path / "r",
                             "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    dump = _chromium("--dump-dom", (tmp_path / "r" / "rapport.html").as_uri(), profile=tmp_path / "profil")
    assert dump.returncode == 0, dump.stderr
    dom = _Dom()
    dom.feed(dump.stdout)
    assert not any(tag == "a" for tag, _attrs in dom.tags)
    assert "amazon\\x1b]0;pwn\\x07\\x00\\u202etxt.exe<a href=javascript:alert(1)>x</a>" in " ".join(dom.text)
