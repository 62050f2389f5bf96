"""State that belongs to one run, not to the process: the stop switch, AI usage, open platforms
and whoever watches the run's progress.

Why not module globals: a process that runs two flows (a served deployment, a test session)
would otherwise stop, cancel and count each other's work. The safe_push flow opens a scope;
everything below it (subflows, and task runs, whose threads copy the caller's context) finds
it with `current()`. Code outside any flow that only reads the stop switch or counts AI
usage (unit tests, the AI client on its own) gets a process-wide default scope; resources
(platforms) need a real run scope (`current_run()`), so none outlives the work that opened it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any, Protocol


class Observer(Protocol):
    """Receives a run's progress; the CLI's live display is one. Called from worker threads."""

    def run_started(self, ui_url: str | None) -> None: ...

    def stage_started(self, name: str, total: int | None) -> None: ...

    def prediction_done(self, stage: str, ok: bool) -> None: ...

    def stage_finished(
        self, name: str, status: str, seconds: float, counts: tuple[int, int] | None = None
    ) -> None: ...

    def note(self, message: str) -> None:
        """Something the person watching should know now (e.g. the run is waiting)."""


class NullObserver:
    """Nobody watching (deployments, tests): every event is dropped."""

    def run_started(self, ui_url: str | None) -> None:
        pass

    def stage_started(self, name: str, total: int | None) -> None:
        pass

    def prediction_done(self, stage: str, ok: bool) -> None:
        pass

    def stage_finished(
        self, name: str, status: str, seconds: float, counts: tuple[int, int] | None = None
    ) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class Usage:
    """AI calls and tokens a run spent, for its report: through which provider and model,
    and how many of the calls were predictions (Claude hosted on Replicate runs each
    request as a prediction, billed by its tokens)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    predictions: int = 0
    provider: str | None = None  # "anthropic" or "replicate"; several joined by ", "
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        provider: str | None = None,
        model: str | None = None,
        prediction: bool = False,
    ) -> None:
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.predictions += int(prediction)
        self.provider = _joined(self.provider, provider)
        self.model = _joined(self.model, model)


def _joined(names: str | None, name: str | None) -> str | None:
    """`names` with `name` added once (a run normally has one provider and one model)."""
    if not name:
        return names
    known = names.split(", ") if names else []
    return ", ".join([*known, name]) if name not in known else names


class RunScope:
    """One run's stop switch, AI usage and open resources (platforms)."""

    def __init__(self, observer: Observer | None = None) -> None:
        self.observer: Observer = observer or NullObserver()
        self._stop = threading.Event()
        self._reason = ""
        self._usage = Usage()
        self._resources: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._requirements: list[tuple[threading.Event, str]] = []
        self._stages: list[Any] = []
        self._pushes: list[tuple[str, str]] = []
        self._retries: dict[str, list[str]] = {}  # retried call -> why each attempt failed
        self._pictures: dict[str, str] = {}  # what a picture shows -> its artifact's page
        self._critical = 0
        self._calm = threading.Condition(self._lock)
        self.on_abandon: Callable[[str], dict[str, Any]] | None = None
        self.report: dict[str, Any] | None = None  # the run's report, once it has one
        self.fault: str | None = None  # the machine failed the run (see note_fault)

    # -- what must still hold before anything that cannot be undone (the push)

    def require(self, broken: threading.Event, message: str) -> None:
        """`broken` set means the run may no longer push (e.g. its model lease lapsed)."""
        with self._lock:
            self._requirements.append((broken, message))

    def broken_requirement(self) -> str | None:
        with self._lock:
            return next((message for event, message in self._requirements if event.is_set()), None)

    # -- what the run knows so far, for a report written when it cannot finish

    def record_stage(self, stage: Any) -> None:
        with self._lock:
            self._stages.append(stage)

    def stages_so_far(self) -> list[Any]:
        with self._lock:
            return list(self._stages)

    def record_push(self, ref: str, version: str) -> None:
        """A push that reached the registry, known before Prefect records its task."""
        with self._lock:
            self._pushes.append((ref, version))

    def pushes(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._pushes)

    def note_retry(self, what: str, reason: str) -> None:
        """An attempt of `what` failed transiently and Prefect will try it again."""
        with self._lock:
            self._retries.setdefault(what, []).append(reason)

    def note_picture(self, label: str, url: str) -> None:
        """A picture artifact (a failed comparison drawn, the timing chart) the summary links."""
        with self._lock:
            self._pictures[label] = url

    def pictures(self) -> dict[str, str]:
        with self._lock:
            return dict(self._pictures)

    def retries(self) -> list[dict[str, Any]]:
        """For the report: each retried call, how many attempts it took, and why."""
        with self._lock:
            return [
                {"call": what, "attempts": len(reasons) + 1, "failures": list(reasons)}
                for what, reasons in self._retries.items()
            ]

    # -- sections that must not be abandoned half-way (a push that may reach the registry)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        with self._lock:
            self._critical += 1
        try:
            yield
        finally:
            with self._lock:
                self._critical -= 1
                self._calm.notify_all()

    def wait_calm(self, timeout: float) -> bool:
        """Wait until no critical section runs; False if one still does after `timeout`."""
        with self._lock:
            return self._calm.wait_for(lambda: self._critical == 0, timeout)

    # -- stopping: --fail-fast, Ctrl-C, SIGTERM

    def request_stop(self, reason: str) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._reason = reason
                self._stop.set()

    def stopped(self) -> bool:
        return self._stop.is_set()

    def note_fault(self, reason: str) -> None:
        """The machine failed the run (a full disk): stop, and end it as aborted (exit 3),
        never as a failed check of the model."""
        with self._lock:
            self.fault = self.fault or reason
        self.stop_now(reason)

    def stop_now(self, reason: str) -> None:
        """Stop from outside the run's own work (a signal, a fault, another variant): nothing
        new starts, and what is in flight is canceled in the background."""
        self.request_stop(reason)
        threading.Thread(target=self.cancel_inflight, name="cancel-inflight", daemon=True).start()

    @property
    def reason(self) -> str:
        return self._reason

    # -- AI usage

    def add_usage(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        provider: str | None = None,
        model: str | None = None,
        prediction: bool = False,
    ) -> None:
        """One AI call answered (see Usage.add)."""
        with self._lock:
            self._usage.add(
                input_tokens, output_tokens, provider=provider, model=model, prediction=prediction
            )

    def usage(self) -> Usage:
        with self._lock:
            return Usage(**asdict(self._usage))

    def reset_usage(self) -> None:
        with self._lock:
            self._usage = Usage()

    # -- resources: objects with cancel_all() and close(), opened once per key

    def resource(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._resources.get(key)
            if found is None:
                found = self._resources[key] = factory()
            return found

    def resources(self) -> list[Any]:
        with self._lock:
            return list(self._resources.values())

    def cancel_inflight(self) -> None:
        """Cancel what the run's resources have in flight; they stay open."""
        for item in self.resources():
            with contextlib.suppress(Exception):
                item.cancel_all()

    def close(self) -> None:
        """Cancel in-flight work and release every resource (idempotent)."""
        with self._lock:
            items = list(self._resources.values())
            self._resources.clear()
        for item in items:
            try:
                item.cancel_all()
            finally:
                item.close()

    # -- signals

    def cancel_on_signals(self) -> contextlib.AbstractContextManager[None]:
        """Ctrl-C or SIGTERM: start nothing new and cancel what is in flight at once, then let
        the previous handler (Prefect's, or Python's) unwind the run as usual. Without this,
        Prefect would wait for every running prediction to finish or time out."""
        return stop_on_signals(lambda: [self])


@contextlib.contextmanager
def stop_on_signals(scopes: Callable[[], list[RunScope]]) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, stop the runs `scopes()` names and cancel their work in flight,
    then chain to the previous handler. Installed only from the main thread (Python allows
    no other); a flow whose runs live in worker threads installs it for all of them."""
    installed: dict[int, Any] = {}

    def chain(previous: Any) -> Any:
        def handler(signum: int, frame: Any) -> None:
            for scope in scopes():
                scope.stop_now(f"interrupted by {signal.Signals(signum).name}")
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        return handler

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread: nothing to install
            installed[sig] = signal.signal(sig, chain(signal.getsignal(sig)))
    try:
        yield
    finally:
        for sig, previous in installed.items():
            signal.signal(sig, previous)


_scope: ContextVar[RunScope | None] = ContextVar("cog_safe_push_run_scope", default=None)
_observer: ContextVar[Observer | None] = ContextVar("cog_safe_push_observer", default=None)
_process_scope = RunScope()
_open: list[RunScope] = []
_ended: list[RunScope] = []
_open_lock = threading.Lock()


def current() -> RunScope:
    """The scope of the run this code belongs to (a process-wide one outside any run)."""
    return _scope.get() or _process_scope


def current_run() -> RunScope:
    """The scope of the run this code belongs to; outside any run, an error. What a run opens
    (platforms, model servers) must close with the run, never with the process."""
    scope = _scope.get()
    if scope is None:
        raise RuntimeError("no run is open: wrap the work in run_scope()")
    return scope


@contextlib.contextmanager
def run_scope() -> Iterator[RunScope]:
    """Open a fresh scope for one run; its resources are closed when the run ends."""
    scope = RunScope(_observer.get())
    token = _scope.set(scope)
    with _open_lock:
        _open.append(scope)
    try:
        yield scope
    finally:
        with _open_lock:
            _open.remove(scope)
            _ended.append(scope)
            del _ended[:-1]
        _scope.reset(token)
        scope.close()


def last_ended_run() -> RunScope | None:
    """The run this process ended last: what it reported and pushed, for a caller whose
    flow call failed after the run's own work was done (its Prefect server failed)."""
    with _open_lock:
        return _ended[-1] if _ended else None


def open_runs() -> list[RunScope]:
    """The runs of this process still open: what a watchdog must stop if it gives up."""
    with _open_lock:
        return list(_open)


@contextlib.contextmanager
def watched_by(observer: Observer) -> Iterator[None]:
    """Runs started inside this block report their progress to `observer`."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def watching() -> Observer | None:
    """Who watches the runs started here (the CLI's live display), if anyone: a flow that
    starts several runs gives each a view of its own onto the same display."""
    return _observer.get()
