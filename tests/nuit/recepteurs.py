"""Real receivers on 127.0.0.1 for the alerts: an SMTP server (aiosmtpd, STARTTLS with a test
certificate made here, AUTH), an HTTP server (http.server), syslog collectors over UDP and TCP
that parse every frame as RFC 5424 (and RFC 6587 octet counting over TCP), and a TCP server
that accepts and never answers. Every one is stopped by its fixture, even when a test fails."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import socket
import ssl
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

UTILISATEUR, MOT_DE_PASSE = "alertes@hopital.example", "s3cr3t-Vault-ne-jamais-citer"


# --- certificates -------------------------------------------------------------------------------

def fabriquer_certificats(dossier: Path) -> tuple[Path, Path, Path]:
    """A test authority and a server certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, cle.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    maintenant = dt.datetime.now(dt.timezone.utc)
    cle_ca = ec.generate_private_key(ec.SECP256R1())
    nom_ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Autorite de test telesante")])
    ca = (x509.CertificateBuilder().subject_name(nom_ca).issuer_name(nom_ca).public_key(cle_ca.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(maintenant - dt.timedelta(minutes=5))
          .not_valid_after(maintenant + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(cle_ca.public_key()), critical=False)
          .sign(cle_ca, hashes.SHA256()))
    cle = ec.generate_private_key(ec.SECP256R1())
    serveur = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
               .issuer_name(nom_ca).public_key(cle.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(maintenant - dt.timedelta(minutes=5)).not_valid_after(maintenant + dt.timedelta(days=1))
               .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                              critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(cle_ca.public_key()), critical=False)
               .sign(cle_ca, hashes.SHA256()))
    chemins = dossier / "ca.pem", dossier / "serveur.pem", dossier / "serveur.key"
    chemins[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chemins[1].write_bytes(serveur.public_bytes(serialization.Encoding.PEM))
    chemins[2].write_bytes(cle.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return chemins


def port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------------------

class ServeurSmtp:
    """aiosmtpd on 127.0.0.1: STARTTLS required before AUTH, AUTH required before MAIL."""

    def __init__(self, certificat: Path, cle: Path, accepter: bool = True, port: int | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.authentifications: list[tuple[str, str]] = []
        self.accepter = accepter
        contexte = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        contexte.load_cert_chain(certificat, cle)
        recepteur = self

        class Gestionnaire:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd's hook
                recepteur.messages.append({"de": envelope.mail_from, "a": list(envelope.rcpt_tos),
                                           "tls": session.ssl is not None,
                                           "message": message_from_bytes(envelope.content, policy=policy.default)})
                return "250 OK"

        def authentifier(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
            secret = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
            recepteur.authentifications.append((login, secret))
            # handled=False: aiosmtpd answers the refusal itself (535 5.7.8, RFC 4954)
            return AuthResult(success=recepteur.accepter and (login, secret) == (UTILISATEUR, MOT_DE_PASSE),
                              handled=False)

        self.port = port or port_libre()
        self._controleur = Controller(Gestionnaire(), hostname="127.0.0.1", port=self.port, tls_context=contexte,
                                      require_starttls=True, auth_required=True, auth_require_tls=True,
                                      authenticator=authentifier)

    def __enter__(self):
        self._controleur.start()
        return self

    def __exit__(self, *exc):
        self._controleur.stop()


class ServeurMuet:
    """Accepts TCP connections and never answers (an SMTP server that hangs)."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = self._socket.getsockname()[1]
        self._connexions: list[socket.socket] = []
        self._fin = threading.Event()
        self._fil = threading.Thread(target=self._accepter, daemon=True)

    def _accepter(self):
        self._socket.settimeout(0.1)
        while not self._fin.is_set():
            try:
                self._connexions.append(self._socket.accept()[0])
            except OSError:
                continue

    def __enter__(self):
        self._fil.start()
        return self

    def __exit__(self, *exc):
        self._fin.set()
        self._fil.join(5)
        for connexion in self._connexions:
            connexion.close()
        self._socket.close()


# --- HTTP -----------------------------------------------------------------------------------------

class ServeurHttp:
    """http.server on 127.0.0.1 that records every POST (path, headers, JSON body) and answers `statut`."""

    def __init__(self):
        self.requetes: list[dict] = []
        self.statut = 200
        recepteur = self

        class Gestionnaire(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's hook
                corps = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recepteur.requetes.append({"chemin": self.path, "type": self.headers.get("Content-Type"),
                                           "corps": json.loads(corps.decode("utf-8")), "statut": recepteur.statut})
                self.send_response(recepteur.statut)
                if 300 <= recepteur.statut < 400:
                    self.send_header("Location", "http://127.0.0.1:9/ailleurs")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._serveur = ThreadingHTTPServer(("127.0.0.1", 0), Gestionnaire)
        self.port = self._serveur.server_address[1]
        self._fil = threading.Thread(target=self._serveur.serve_forever, daemon=True)

    def __enter__(self):
        self._fil.start()
        return self

    def __exit__(self, *exc):
        self._serveur.shutdown()
        self._serveur.server_close()


# --- syslog ---------------------------------------------------------------------------------------

_ENTETE = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) (?P<horodatage>\S+) (?P<hote>[!-~]{1,255}) (?P<application>[!-~]{1,48}) "
    r"(?P<processus>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) ")
_HORODATAGE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_NOM_SD = re.compile(r"[!#-<>-\\^-~]{1,32}")  # PRINTUSASCII except '=', ' ', ']', '"'


def analyser_rfc5424(trame: bytes) -> dict:
    """Parse one RFC 5424 message strictly (section 6, ABNF); AssertionError on any deviation."""
    texte = trame.decode("utf-8")
    entete = _ENTETE.match(texte)
    assert entete, f"en-tête RFC 5424 invalide : {texte[:80]!r}"
    pri = int(entete["pri"])
    assert 0 <= pri <= 191 and entete["version"] == "1"
    assert _HORODATAGE.fullmatch(entete["horodatage"]), entete["horodatage"]
    dt.datetime.fromisoformat(entete["horodatage"].replace("Z", "+00:00"))
    reste = texte[entete.end():]
    donnees: dict[str, dict[str, str]] = {}
    if reste.startswith("-"):
        reste = reste[1:]
    else:
        while reste.startswith("["):
            fin_id = min(i for i in (reste.find(" "), reste.find("]")) if i > 0)
            sd_id = reste[1:fin_id]
            assert _NOM_SD.fullmatch(sd_id), sd_id
            parametres: dict[str, str] = {}
            reste = reste[fin_id:]
            while reste.startswith(" "):
                nom, _, reste = reste[1:].partition("=")
                assert _NOM_SD.fullmatch(nom), nom
                assert reste.startswith('"'), reste[:20]
                valeur, i = [], 1
                while reste[i] != '"':
                    if reste[i] == "\\" and reste[i + 1] in '"\\]':
                        valeur.append(reste[i + 1])
                        i += 2
                        continue
                    assert reste[i] not in '"]', f"caractère non échappé dans {nom}"
                    valeur.append(reste[i])
                    i += 1
                parametres[nom] = "".join(valeur)
                reste = reste[i + 1:]
            assert reste.startswith("]"), reste[:20]
            donnees[sd_id] = parametres
            reste = reste[1:]
    message = None
    if reste:
        assert reste.startswith(" "), reste[:20]
        assert reste[1:].startswith("\ufeff"), "MSG UTF-8 sans BOM"
        message = reste[2:]
    return {"facilite": pri // 8, "gravite": pri % 8, "horodatage": entete["horodatage"], "hote": entete["hote"],
            "application": entete["application"], "processus": entete["processus"], "msgid": entete["msgid"],
            "donnees": donnees, "message": message}


class CollecteurSyslog:
    """A syslog collector on 127.0.0.1: UDP (one message per datagram) or TCP (RFC 6587 octet counting)."""

    def __init__(self, transport: str):
        self.transport = transport
        self.messages: list[dict] = []
        self.erreurs: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        if transport == "tcp":
            self._socket.listen(8)
        self.port = self._socket.getsockname()[1]
        self._fin = threading.Event()
        self._fil = threading.Thread(target=self._udp if transport == "udp" else self._tcp, daemon=True)

    def _noter(self, trame: bytes) -> None:
        try:
            self.messages.append(analyser_rfc5424(trame))
        except (AssertionError, UnicodeDecodeError, ValueError, IndexError) as exc:
            self.erreurs.append(f"{exc} : {trame[:120]!r}")

    def _udp(self):
        while not self._fin.is_set():
            try:
                self._noter(self._socket.recv(65535))
            except OSError:
                continue

    def _tcp(self):
        while not self._fin.is_set():
            try:
                connexion, _ = self._socket.accept()
            except OSError:
                continue
            with connexion:
                connexion.settimeout(5)
                tampon = b""
                while True:
                    morceau = connexion.recv(65536)
                    if not morceau:
                        break
                    tampon += morceau
                while tampon:  # RFC 6587, 3.4.1: MSG-LEN SP SYSLOG-MSG
                    longueur, espace, tampon = tampon.partition(b" ")
                    if not (espace and longueur.isdigit() and not longueur.startswith(b"0")):
                        self.erreurs.append(f"cadrage par comptage d'octets invalide : {longueur[:20]!r}")
                        break
                    n = int(longueur)
                    if len(tampon) < n:
                        self.erreurs.append(f"trame coupée : {n} octets annoncés, {len(tampon)} reçus")
                        break
                    self._noter(tampon[:n])
                    tampon = tampon[n:]

    def __enter__(self):
        self._fil.start()
        return self

    def __exit__(self, *exc):
        self._fin.set()
        self._fil.join(5)
        self._socket.close()
