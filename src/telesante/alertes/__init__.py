"""Alerts of the night, only on change: a new critical finding, a mission network that became
non-compliant or incomplete, a mission network back to compliance.

- `configuration`: the channels, from the inventory (telesante_alertes_*);
- `evenements`: what changed enough to alert, and its text in French;
- `courriel`, `syslog`, `webhook`: the senders;
- `envoi`: the queue kept in the history (an alert that could not leave is tried again at
  the next run, and never sent twice once it has left).
"""


class ErreurEnvoi(Exception):
    """An alert could not leave: the French reason, which never quotes a secret."""
