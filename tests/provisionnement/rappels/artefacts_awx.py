"""Test callback: write the run's set_stats data where AWX would find its artifacts.

AWX (through ansible-runner's awx_display callback) takes a job's artifacts from
``stats.custom['_run']`` when the playbook ends: the data of ``set_stats`` with
``per_host: false``. This callback writes the same dictionary, as JSON, to the file
named by the TELESANTE_ARTEFACTS environment variable.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: artefacts_awx
    type: aggregate
    short_description: writes the set_stats data (AWX artifacts) to a JSON file
    description:
      - Test helper of telesante: writes stats.custom['_run'] to $TELESANTE_ARTEFACTS.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "artefacts_awx"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        destination = os.environ.get("TELESANTE_ARTEFACTS")
        if destination:
            with open(destination, "w", encoding="utf-8") as fichier:
                json.dump(stats.custom.get("_run", {}), fichier, ensure_ascii=False, indent=2)
