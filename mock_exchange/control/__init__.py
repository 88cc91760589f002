"""Driving the exchange from outside: faults, money, other participants, books, time."""

from .operations import Control, ControlError

__all__ = ["Control", "ControlError"]
