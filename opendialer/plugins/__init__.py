"""Built-in plugins. Each module here is registered by the plugin manager exactly
as a third-party distribution's entry point would be (see docs/plugins.md).

To add one: create the module with ``@hookimpl`` functions and list it below.
"""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "opendialer.plugins.retry_default",
    "opendialer.plugins.pacing_progressive",
    "opendialer.plugins.pacing_power",
    "opendialer.plugins.pacing_predictive",
    "opendialer.plugins.route_static",
    "opendialer.plugins.amd_numpy",
    "opendialer.plugins.dnc_embedded",
    "opendialer.plugins.dnc_http",
    "opendialer.plugins.scaffold",
    "opendialer.plugins.route_oscc",
    "opendialer.plugins.route_ivr",
    "opendialer.plugins.platform_sip",
    "opendialer.plugins.platform_sim",
    "opendialer.plugins.metrics_prometheus",
)
