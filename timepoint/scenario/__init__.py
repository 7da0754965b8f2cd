"""Scenarios: the schema, YAML loading with ``extends:``, import of earlier-format templates,
and drafting a scenario from one sentence.

Modules: :mod:`~timepoint.scenario.schema` (the frozen models; the ``temporal:`` section in
:mod:`.temporal`), :mod:`.limits` (input and run-size limits), :mod:`.loader` (files and
inheritance), :mod:`.problems` (readable validation errors), :mod:`.writer` (YAML out),
:mod:`.legacy` (JSON templates), :mod:`.sentence` and :mod:`.generate` (natural language).
"""

from timepoint.scenario.loader import load_scenario, load_scenario_data
from timepoint.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "load_scenario_data"]
