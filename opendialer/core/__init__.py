"""The dialer's core: domain model, hook specifications, contracts, storage, services, engine.

Core never imports from ``opendialer.plugins`` or ``opendialer.admin_ui``.
"""
