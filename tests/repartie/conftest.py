"""The network lab's fixtures, for the distributed collection over real SSH."""

from tests.labo.conftest import laboratoire  # noqa: F401 -- the session's reference lab (skips without root)
