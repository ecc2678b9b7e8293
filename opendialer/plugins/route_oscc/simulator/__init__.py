"""A contact-center simulator speaking the ``oscc`` routing target's configurable
protocol over real HTTP, with a control API that slows it down, breaks it and
drops its sessions. Tests run it in-process (:class:`SimulatorServer`); people
run ``python -m opendialer.plugins.route_oscc.simulator --port 9001``."""

from opendialer.plugins.route_oscc.simulator.app import SimulatorApp
from opendialer.plugins.route_oscc.simulator.model import ContactCenter
from opendialer.plugins.route_oscc.simulator.server import SimulatorServer

__all__ = ["ContactCenter", "SimulatorApp", "SimulatorServer"]
