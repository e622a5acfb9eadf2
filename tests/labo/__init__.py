"""Real network lab (Linux network namespaces) audited by the integration tests.

`topologie` builds the lab from a small topology description; `conftest`
exposes it as pytest fixtures (`laboratoire`, `fabrique_laboratoire`).
"""
