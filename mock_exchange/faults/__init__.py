"""Fault injection at the protocol boundary (see ``plan`` for the model).

Attach a rule to a running server with ``server.faults.add(Fault.from_spec({...}))`` or
over HTTP with ``POST /mock/faults``; commands that act at once (disconnect streams, stall
a connection, skew the clock) live on ``MockExchangeServer`` and the control API.
"""

from .plan import Action, Fault, FaultPlan, FaultSpecError, Kind, Match, Surface

__all__ = ["Action", "Fault", "FaultPlan", "FaultSpecError", "Kind", "Match", "Surface"]
