"""Finds, registers and calls plugins.

Built-ins (``opendialer.plugins.BUILTIN_PLUGINS``) and third-party
distributions (entry-point group ``opendialer``) go through the same door:
:meth:`PluginManager.register`. A plugin that fails to import, misspells a
hook, or takes an argument its hook does not offer is recorded in
:attr:`PluginManager.failures` with its name and the reason; the rest load.

Event hooks are called through pluggy (``pm.hook.<name>(...)``), so
``tryfirst``/``trylast`` and ``wrapper=True`` implementations work as pluggy
documents. What pluggy does not give is isolation: when a plugin registers,
each of its event implementations is wrapped (:func:`_isolated`) so that its
exception — or its awaitable's, or a timeout — is logged with the plugin's
name and the other plugins still run.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pluggy

import opendialer
from opendialer.sdk import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "opendialer"
BUILTIN_PACKAGE = "opendialer.plugins"
DISABLE_ENV = "OPENDIALER_DISABLE_PLUGINS"
EVENT_HOOK_TIMEOUT_S = 5.0
#: Awaited by the caller (each implementation's awaitable within the timeout).
EVENT_HOOKS = frozenset({"call_finished", "lead_status_changed", "campaign_state_changed"})
#: Called where dialing happens: never awaited; an awaitable runs as a background task.
HOT_PATH_HOOKS = frozenset({"call_originated", "call_refused", "dnc_checked"})

REGISTRATION_HOOKS = {
    "dnc_providers": "register_dnc_providers",
    "amd_strategies": "register_amd_strategies",
    "routing_targets": "register_routing_targets",
    "platforms": "register_platforms",
    "pacing_modes": "register_pacing_modes",
    "retry_policies": "register_retry_policies",
    "metrics_exporters": "register_metrics_exporters",
}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    version: str
    source: str  # "builtin" or the distribution's name
    hooks: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "hooks": self.hooks,
        }


@dataclass(frozen=True, slots=True)
class PluginFailure:
    name: str
    source: str
    error: str


@dataclass
class PluginManager:
    """A thin wrapper of :class:`pluggy.PluginManager` with our loading rules."""

    disabled: frozenset[str] = field(default_factory=frozenset)
    failures: list[PluginFailure] = field(default_factory=list)
    _pm: pluggy.PluginManager = field(init=False)
    _info: dict[str, PluginInfo] = field(init=False, default_factory=dict)
    #: Awaitables hot-path hooks returned, running (kept so they are not collected).
    _background: set[asyncio.Future[Any]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)

    # -- loading -----------------------------------------------------------

    def load_all(self) -> PluginManager:
        self.load_builtins()
        self.load_entry_points()
        return self

    def load_builtins(self) -> None:
        try:
            package = importlib.import_module(BUILTIN_PACKAGE)
            modules: Iterable[str] = package.BUILTIN_PLUGINS
        except Exception as exc:  # the package itself is broken: say so, load the rest
            self._fail(BUILTIN_PACKAGE, "builtin", exc)
            return
        for module_name in modules:
            name = module_name.rsplit(".", 1)[-1]
            if name in self.disabled:
                continue
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:
                self._fail(name, "builtin", exc)
                continue
            self.register(module, name=name, version=opendialer.__version__, source="builtin")

    def load_entry_points(self) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            source = dist.name if dist is not None else "unknown"
            version = dist.version if dist is not None else "unknown"
            if ep.name in self.disabled:
                continue
            if source == "opendialer":
                continue  # our own distribution's built-ins are loaded by load_builtins
            try:
                plugin = ep.load()
            except Exception as exc:
                self._fail(ep.name, source, exc)
                continue
            self.register(plugin, name=ep.name, version=version, source=source)

    def register(
        self, plugin: object, *, name: str, version: str = "0", source: str = "test"
    ) -> bool:
        """Register ``plugin`` under ``name``; False (and a failure recorded) if it is bad."""
        if name in self._info:
            self._fail(name, source, f"a plugin named {name!r} is already registered")
            return False
        unknown = [h for h in self._hook_names(plugin) if not hasattr(hookspecs, h)]
        if unknown:
            self._fail(name, source, f"unknown hook(s): {', '.join(sorted(unknown))}")
            return False
        try:
            self._pm.register(plugin, name=name)
        except Exception as exc:  # pluggy.PluginValidationError: wrong arguments
            self._fail(name, source, exc)
            return False
        self._isolate_events(plugin)
        self._info[name] = PluginInfo(
            name=name, version=version, source=source, hooks=sorted(self._hook_names(plugin))
        )
        return True

    def observe(self, observer: object) -> Callable[[], None]:
        """Let an object a factory built (an exporter) receive the event hooks.

        ``observer`` implements event hooks as ``@hookimpl`` methods; it is called
        like a plugin (same order, isolation and timeouts) but is not listed in
        :meth:`plugins`. Returns the function that stops it (call it on close)."""
        hooks = self._hook_names(observer)
        wrong = [h for h in hooks if h not in EVENT_HOOKS | HOT_PATH_HOOKS]
        if wrong:
            raise ValueError(f"an observer implements event hooks only, not {', '.join(wrong)}")
        name = f"{type(observer).__name__}@{id(observer):x}"
        self._pm.register(observer, name=name)
        self._isolate_events(observer)

        def stop() -> None:
            if self._pm.get_plugin(name) is not None:
                self._pm.unregister(name=name)

        return stop

    def _isolate_events(self, plugin: object) -> None:
        for caller in self._pm.get_hookcallers(plugin) or []:
            if caller.name not in EVENT_HOOKS | HOT_PATH_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    # pluggy marks ``function`` Final, but it is the documented way to
                    # reach an implementation; it is only wrapped, never changed.
                    impl.function = _isolated(  # type: ignore[misc]
                        impl.function, impl.plugin_name, caller.name, caller.name in EVENT_HOOKS
                    )

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)
        self._info.pop(name, None)

    def _hook_names(self, plugin: object) -> list[str]:
        names = []
        for attr in dir(plugin):
            if attr.startswith("_"):
                continue
            if self._pm.parse_hookimpl_opts(plugin, attr) is not None:
                names.append(attr)
        return names

    def _fail(self, name: str, source: str, error: object) -> None:
        text = (
            f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
        )
        self.failures.append(PluginFailure(name=name, source=source, error=text))
        log.error("plugin_failed name=%s source=%s error=%s", name, source, text)

    # -- introspection -----------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        return sorted(self._info.values(), key=lambda p: (p.source != "builtin", p.name))

    def info(self, name: str) -> PluginInfo | None:
        return self._info.get(name)

    @property
    def hook(self) -> Any:
        return self._pm.hook

    # -- registration hooks ------------------------------------------------

    def factories(self, kind: str) -> dict[str, Any]:
        """Merge one registration hook's answers: ``{short_name: factory}``.

        ``kind`` is a key of :data:`REGISTRATION_HOOKS` (``"dnc_providers"``, ...).
        A plugin that raises or returns a non-mapping, or a name two plugins
        claim, is recorded as a failure; the rest are returned.
        """
        # Called per implementation, not through pluggy's loop, so that a bad answer or
        # a clash is pinned on the plugin that gave it.
        hook_name = REGISTRATION_HOOKS[kind]
        merged: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            try:
                answer = impl.function()
                if answer is None:
                    continue
                if not isinstance(answer, Mapping):
                    raise TypeError(
                        f"{hook_name} must return a mapping, got {type(answer).__name__}"
                    )
            except Exception as exc:
                self._fail(impl.plugin_name, self._source_of(impl.plugin_name), exc)
                continue
            for short_name, factory in answer.items():
                if short_name in merged:
                    self._fail(
                        impl.plugin_name,
                        self._source_of(impl.plugin_name),
                        f"{hook_name}: name {short_name!r} is already provided by plugin "
                        f"{owners[short_name]!r}",
                    )
                    continue
                merged[short_name] = factory
                owners[short_name] = impl.plugin_name
        return merged

    def _source_of(self, name: str) -> str:
        info = self._info.get(name)
        return info.source if info else "unknown"

    # -- event hooks -------------------------------------------------------

    async def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an event hook through pluggy; await what implementations return; never raise.

        Each implementation is isolated (see :func:`_isolated`): its error is logged
        with its plugin's name and the others still run."""
        try:
            results = getattr(self._pm.hook, hook_name)(**kwargs)
        except Exception:  # a wrapper's own failure: implementations never raise here
            log.exception("plugin_hook_error hook=%s", hook_name)
            return
        for result in results:
            if inspect.isawaitable(result):
                await result  # already bounded by the timeout, never raises

    def notify_now(self, hook_name: str, **kwargs: Any) -> None:
        """Call a hot-path event hook synchronously; never raise, never wait.

        An implementation that returns an awaitable gets it run as a background
        task: the caller (the engine, about to dial) must not be delayed by it."""
        try:
            results = getattr(self._pm.hook, hook_name)(**kwargs)
        except Exception:
            log.exception("plugin_hook_error hook=%s", hook_name)
            return
        for result in results:
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def call_register_commands(self, app: object) -> None:
        for impl in self._pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(*[{"app": app}[a] for a in impl.argnames])
            except Exception as exc:
                self._fail(impl.plugin_name, self._source_of(impl.plugin_name), exc)


def _isolated(
    function: Callable[..., Any], plugin: str, hook: str, awaited: bool
) -> Callable[..., Any]:
    """``function`` (one plugin's implementation of ``hook``) made safe to call in
    pluggy's loop: an exception is logged with the plugin's name and answers None; an
    awaitable is returned wrapped so that awaiting it never raises and, for an
    ``awaited`` hook, gives up after :data:`EVENT_HOOK_TIMEOUT_S`."""

    def call(*args: Any) -> Any:
        try:
            result = function(*args)
        except Exception:
            log.exception("plugin_hook_error plugin=%s hook=%s", plugin, hook)
            return None
        if inspect.isawaitable(result):
            return _settled(result, plugin, hook, EVENT_HOOK_TIMEOUT_S if awaited else None)
        return result

    return call


async def _settled(
    awaitable: Awaitable[Any], plugin: str, hook: str, timeout_s: float | None
) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout_s)
    except Exception:
        log.exception("plugin_hook_error plugin=%s hook=%s", plugin, hook)


def disabled_from_env() -> frozenset[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


@lru_cache(maxsize=1)
def get_plugin_manager() -> PluginManager:
    """The process-wide manager with built-ins and installed plugins loaded."""
    return PluginManager(disabled=disabled_from_env()).load_all()


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests; after installing a distribution)."""
    get_plugin_manager.cache_clear()
    importlib.invalidate_caches()


__all__ = [
    "EVENT_HOOKS",
    "HOT_PATH_HOOKS",
    "PluginFailure",
    "PluginInfo",
    "PluginManager",
    "get_plugin_manager",
    "reset_plugin_manager",
]
