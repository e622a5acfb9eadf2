"""Headless Chromium driven over the DevTools protocol (``--remote-debugging-pipe``: no port, no network).

The pipe is Chromium's own transport: JSON messages ended by NUL, read by the browser on fd 3,
written on fd 4 (https://chromedevtools.github.io/devtools-protocol/, « --remote-debugging-pipe »).
Used to measure the page at a given width, take screenshots and print to PDF.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Navigateur:
    """One headless Chromium and one page; use as a context manager (the browser is always ended)."""

    def __init__(self, profil: Path, delai: float = 60.0):
        self.delai = delai
        vers_chromium, self._ecriture = os.pipe()
        self._lecture, depuis_chromium = os.pipe()

        def _brancher():  # in the child: the pipe ends where Chromium expects them, inheritable (dup2)
            haut_lecture = fcntl.fcntl(vers_chromium, fcntl.F_DUPFD, 10)
            haut_ecriture = fcntl.fcntl(depuis_chromium, fcntl.F_DUPFD, 10)
            os.dup2(haut_lecture, 3)
            os.dup2(haut_ecriture, 4)

        self._processus = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profil}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_brancher, close_fds=False,  # other fds are not inheritable (PEP 446)
        )
        os.close(vers_chromium)
        os.close(depuis_chromium)
        self._tampon = b""
        self._numero = 0
        self._evenements: list[dict] = []
        cible = self.envoyer("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.envoyer("Target.attachToTarget", targetId=cible, flatten=True)["sessionId"]
        self.envoyer("Page.enable", session=True)
        self.envoyer("Network.enable", session=True)

    def __enter__(self) -> Navigateur:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.envoyer("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self._processus.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._processus.kill()
            self._processus.wait()
        os.close(self._ecriture)
        os.close(self._lecture)

    def _message(self, fin: float) -> dict:
        while b"\0" not in self._tampon:
            if time.monotonic() > fin:
                raise TimeoutError("Chromium ne répond pas")
            morceau = os.read(self._lecture, 1 << 20)
            if not morceau:
                raise RuntimeError("Chromium s'est arrêté")
            self._tampon += morceau
        brut, self._tampon = self._tampon.split(b"\0", 1)
        return json.loads(brut)

    def envoyer(self, methode: str, session: bool = False, **parametres) -> dict:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._numero += 1
        message = {"id": self._numero, "method": methode, "params": parametres}
        if session:
            message["sessionId"] = self._session
        os.write(self._ecriture, json.dumps(message).encode() + b"\0")
        fin = time.monotonic() + self.delai
        while True:
            recu = self._message(fin)
            if recu.get("id") == self._numero:
                if "error" in recu:
                    raise RuntimeError(f"{methode} : {recu['error']}")
                return recu["result"]
            self._evenements.append(recu)

    def attendre(self, evenement: str) -> dict:
        """Wait for an event of the page (one already received counts)."""
        fin = time.monotonic() + self.delai
        while True:
            for recu in self._evenements:
                if recu.get("method") == evenement:
                    self._evenements.remove(recu)
                    return recu["params"]
            self._evenements.append(self._message(fin))

    def ouvrir(self, page: Path, largeur: int, hauteur: int = 900, telephone: bool = False) -> None:
        """Load `page` in a window `largeur` CSS pixels wide (a phone: mobile viewport rules apply)."""
        self.envoyer("Emulation.setDeviceMetricsOverride", session=True, width=largeur, height=hauteur,
                     deviceScaleFactor=1, mobile=telephone)
        self._evenements.clear()
        self.envoyer("Page.navigate", session=True, url=page.as_uri())
        self.attendre("Page.loadEventFired")

    def requetes(self) -> list[str]:
        """Every URL the page asked for since it was opened (the page itself included)."""
        return [e["params"]["request"]["url"] for e in self._evenements if e.get("method") == "Network.requestWillBeSent"]

    def evaluer(self, expression: str):
        """The value of a JavaScript expression in the page (DevTools is not bound by the page's CSP)."""
        resultat = self.envoyer("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in resultat:
            raise RuntimeError(f"JavaScript : {resultat['exceptionDetails']}")
        return resultat["result"].get("value")

    def medias(self, media: str) -> None:
        """Emulate a CSS media type (« print », or « » for the screen)."""
        self.envoyer("Emulation.setEmulatedMedia", session=True, media=media)

    def capture(self, fichier: Path, page_entiere: bool = True, zone: dict | None = None) -> bytes:
        """A PNG screenshot of the page (whole, or of `zone` {x, y, width, height}), also written to `fichier`."""
        parametres = {"format": "png", "captureBeyondViewport": page_entiere}
        if zone is not None:
            parametres["clip"] = {**zone, "scale": 1}
        image = base64.b64decode(self.envoyer("Page.captureScreenshot", session=True, **parametres)["data"])
        fichier.write_bytes(image)
        return image

    def imprimer(self, fichier: Path) -> bytes:
        """Print to PDF as the user would: the page's @page size and margins, backgrounds on."""
        pdf = base64.b64decode(self.envoyer("Page.printToPDF", session=True, preferCSSPageSize=True,
                                            printBackground=True, displayHeaderFooter=False)["data"])
        fichier.write_bytes(pdf)
        return pdf
