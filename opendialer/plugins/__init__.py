"""Built-in plugins. Each module here is registered by the plugin manager exactly
as a third-party distribution's entry point would be (see docs/plugins.md).

To add one: create the module with ``@hookimpl`` functions and list it below.
"""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "opendialer.plugins.retry_default",
    "opendialer.plugins.pacing_progressive",
    "opendialer.plugins.route_static",
)
