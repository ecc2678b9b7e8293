"""A contact-center simulator speaking the ``oscc`` routing target's configurable
protocol over real HTTP, with a control API that slows it down, breaks it and
drops its sessions. Tests run it in-process (:class:`SimulatorServer`); people
run ``python -m opendialer.contrib.cc_simulator --port 9001``."""

from opendialer.contrib.cc_simulator.app import SimulatorApp
from opendialer.contrib.cc_simulator.model import ContactCenter
from opendialer.contrib.cc_simulator.server import SimulatorServer

__all__ = ["ContactCenter", "SimulatorApp", "SimulatorServer"]
