"""The trial channel's messages: what travels between a trial, its worker, the executors and the
controller, as frozen dataclasses matched by type.

Three links use them, all pickled:

- a trial process or a worker and the local executor's Unix socket
  (:mod:`sweeptrack.trial`, :mod:`sweeptrack.executors.worker`, :mod:`sweeptrack.executors.local`):
  a connection opens with a :data:`Hello`; then the trial side sends :data:`TrialSide` messages and
  the executor answers with :data:`ExecutorSide` ones;
- the Ray executor and its slot actors (:mod:`sweeptrack.executors.ray_slot`): :data:`SlotCommand`
  one way, :data:`SlotOutbound` back;
- every executor and the controller: :data:`TrialMessage` (see :mod:`sweeptrack.executors.base`).

Example:
    >>> match Prune(trial_id="t1"):
    ...     case Prune(trial_id=trial_id):
    ...         print(trial_id)
    t1
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweeptrack.core.events import Event
from sweeptrack.core.model import RunStatus

__all__ = [
    "Cancel",
    "Events",
    "ExecutorSide",
    "Finished",
    "Hello",
    "Message",
    "Prune",
    "RunTrial",
    "ShippedEnd",
    "ShippedEvents",
    "SlotCommand",
    "SlotOutbound",
    "Submit",
    "Sync",
    "SyncAck",
    "TrialEvents",
    "TrialFinished",
    "TrialHello",
    "TrialMessage",
    "TrialSide",
    "TrialStarted",
    "Unreadable",
    "WorkerHello",
    "pack",
    "pack_list",
    "unpack",
    "unpack_executor_side",
    "unpack_slot_commands",
    "unpack_slot_outbound",
    "unpack_trial_side",
]


# -- what executors hand the controller -----------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class TrialStarted:
    """A trial that waited after its submit has started."""

    trial_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialEvents:
    """Run events the trial's code emitted (in order)."""

    trial_id: str
    events: Sequence[Event]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialFinished:
    """The trial's end: its status, the error (a traceback tail for failures), what the entrypoint
    returned (a float or a dict of final metrics, for function trials), and its captured output."""

    trial_id: str
    status: RunStatus
    error: str | None = None
    result: Any = None
    log_path: str | None = None  # stdout+stderr captured for the trial, when kept


TrialMessage = TrialStarted | TrialEvents | TrialFinished


# -- a connection to the local executor's socket --------------------------------------------------
@dataclass(frozen=True, slots=True)
class WorkerHello:
    """A worker process the executor started as ``key`` connected."""

    key: int


@dataclass(frozen=True, slots=True)
class TrialHello:
    """A command trial's process (or one it started) connected for the trial ``trial_id``."""

    trial_id: str


Hello = WorkerHello | TrialHello


@dataclass(frozen=True, slots=True)
class Events:
    """Run events the trial's code emitted, in order."""

    events: list[Event]


@dataclass(frozen=True, slots=True)
class Sync:
    """The trial waits in ``should_prune()`` for the controller's verdict on what it sent so far."""

    token: int


@dataclass(frozen=True, slots=True)
class Finished:
    """A worker's trial ended (sent after all its events); ``leaving``: the worker exits now (e.g.
    after a MemoryError), so it must get no other trial."""

    trial_id: str
    status: RunStatus
    error: str | None
    result: Any
    leaving: bool


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A message the executor could not unpickle (made by the executor in its place)."""

    reason: str


TrialSide = Events | Sync | Finished | Unreadable


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTrial:
    """A worker runs this function trial (``entrypoint``: ``module:function``) with its output in
    ``log_path``."""

    trial_id: str
    experiment: str
    name: str
    params: Mapping[str, Any]
    call_params: Mapping[str, Any]
    entrypoint: str | None
    cwd: str
    search_path: tuple[str, ...]
    env: Mapping[str, str]
    artifact_root: str | None
    log_path: str


@dataclass(frozen=True, slots=True)
class Prune:
    """Stop the trial: ``st.should_prune()`` turns true; from the Ray executor to a slot, the trial
    is stopped ``grace`` seconds later (None: the slot's default)."""

    trial_id: str
    grace: float | None = None


@dataclass(frozen=True, slots=True)
class SyncAck:
    """The controller has judged everything sent before the :class:`Sync` with this token."""

    token: int


ExecutorSide = RunTrial | Prune | SyncAck


# -- the Ray executor and its slot actors ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Submit:
    """Run ``request`` (a :class:`~sweeptrack.executors.base.TrialRequest`) on the slot;
    ``staged``: it waits behind the slot's trial, and its start is reported. ``function``: the
    request's function pickled by value (the request travels without it)."""

    request: Any
    staged: bool
    function: bytes | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop the trial now (SIGTERM, SIGKILL ``grace`` seconds later); it finishes ``status``."""

    trial_id: str
    status: RunStatus
    grace: float


SlotCommand = Submit | Prune | Cancel


@dataclass(frozen=True, slots=True)
class ShippedEvents:
    """A trial's events and the bytes of the artifacts they logged, by sha256."""

    message: TrialEvents
    blobs: Mapping[str, bytes]


@dataclass(frozen=True, slots=True)
class ShippedEnd:
    """A trial's end and the tail of its output log (None: no output)."""

    message: TrialFinished
    log: bytes | None


SlotOutbound = TrialStarted | ShippedEvents | ShippedEnd

Message = Hello | TrialSide | ExecutorSide | SlotCommand | SlotOutbound | TrialMessage


# -- on the wire --------------------------------------------------------------------------------
# A message travels as a plain tuple (its kind's number, then its field values): pickling a slotted
# frozen dataclass goes through Python-level __getstate__/__setstate__ and a class lookup, about
# 20 times the cost of a tuple, and the local executor's socket carries several messages a trial.
# The Ray slots' lists travel the same way, with the messages they wrap (a shipped trial's events
# and end) flattened too.
_KINDS: tuple[type, ...] = (
    Events, Sync, Finished, Unreadable, RunTrial, Prune, SyncAck,
    Submit, Cancel, ShippedEvents, ShippedEnd, TrialStarted, TrialEvents, TrialFinished,
)  # fmt: skip
_NUMBER = {kind: number for number, kind in enumerate(_KINDS)}
_FIELDS: dict[type, tuple[str, ...]] = {kind: kind.__slots__ for kind in _KINDS}  # type: ignore[attr-defined]
_WRAPPERS = (ShippedEvents, ShippedEnd)  # their first field is a message of its own


def _flat(message: Message) -> tuple[int, tuple[Any, ...]]:
    kind = type(message)
    values = tuple(getattr(message, name) for name in _FIELDS[kind])
    if kind in _WRAPPERS:
        values = (_flat(values[0]), *values[1:])
    return _NUMBER[kind], values


def _build(flat: tuple[int, tuple[Any, ...]]) -> Any:
    number, values = flat
    kind = _KINDS[number]
    if kind in _WRAPPERS:
        values = (_build(values[0]), *values[1:])
    message: Any = object.__new__(kind)
    for name, value in zip(_FIELDS[kind], values, strict=True):
        object.__setattr__(message, name, value)  # frozen: set as the dataclass's own __init__ does
    return message


def pack(message: TrialSide | ExecutorSide) -> bytes:
    """``message`` as bytes for the local executor's socket (see :func:`unpack`).

    Example:
        >>> unpack(pack(Prune(trial_id="t1")))
        Prune(trial_id='t1', grace=None)
    """
    return pickle.dumps(_flat(message), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> TrialSide | ExecutorSide:
    """The message :func:`pack` made of ``data``.

    Raises:
        Exception: whatever unpickling raises for bytes that are not a packed message.
    """
    message: TrialSide | ExecutorSide = _build(pickle.loads(data))
    return message


def pack_list(messages: Sequence[SlotCommand | SlotOutbound]) -> bytes:
    """A Ray slot's commands, or what it sends back, as bytes (see :func:`unpack_slot_commands`
    and :func:`unpack_slot_outbound`)."""
    return pickle.dumps([_flat(message) for message in messages], protocol=pickle.HIGHEST_PROTOCOL)


def unpack_slot_commands(data: bytes) -> list[SlotCommand]:
    """The commands :func:`pack_list` made of ``data``; ValueError for anything else."""
    commands = [_build(flat) for flat in pickle.loads(data)]
    for command in commands:
        if not isinstance(command, Submit | Prune | Cancel):
            raise ValueError(f"a slot takes no {type(command).__name__}")
    return commands


def unpack_slot_outbound(data: bytes) -> list[SlotOutbound]:
    """What a slot sent, as :func:`pack_list` made it; ValueError for anything else."""
    outbound = [_build(flat) for flat in pickle.loads(data)]
    for message in outbound:
        if not isinstance(message, TrialStarted | ShippedEvents | ShippedEnd):
            raise ValueError(f"a slot does not send {type(message).__name__}")
    return outbound


def unpack_trial_side(data: bytes) -> TrialSide:
    """What a trial or worker sent; ValueError for anything else."""
    message = unpack(data)
    if not isinstance(message, Events | Sync | Finished | Unreadable):
        raise ValueError(f"a trial does not send {type(message).__name__}")
    return message


def unpack_executor_side(data: bytes) -> ExecutorSide:
    """What the executor sent a trial or worker; ValueError for anything else."""
    message = unpack(data)
    if not isinstance(message, RunTrial | Prune | SyncAck):
        raise ValueError(f"an executor does not send {type(message).__name__}")
    return message
