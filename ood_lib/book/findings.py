"""Findings and code sanity checks: each claim a chapter's prose makes, stated once in code.

A chapter asserts what its prose says with one call and prints one line a checked
(``# NBVAL_CHECK_OUTPUT``) cell pins:

- ``finding(label, value, expected)``: a result that could have come out otherwise
  (an ordering, a sign, which score wins, whether a control changes the result).
  Printed as ``finding: <label>: <value>``.
- ``sanity_check(label, value, expected)``: holds by construction (an identity, a
  spread that is zero by design, a bound with a huge slack). Printed as
  ``code sanity check: <label>: <value>``, so no reader takes it for evidence.

When ``value != expected`` the claim is contradicted. In the ``quick`` and ``full``
profiles, whose models are the book's, a contradicted finding raises
:class:`FindingNotShown` naming it, so the executed notebook can never carry a claim
its outputs contradict. ``smoke`` models are too small to show the phenomena, so
there a contradicted finding is reported on its line instead. A failed sanity check
is a bug in any profile and always raises.

``value`` is compared with ``==``: pass booleans, integers, strings or figures
already rounded so that they print the same on every CPU and thread count.
"""

from __future__ import annotations

import numbers

from ood_lib.settings.profiles import get_profile

# Profiles whose models need not show the paper's phenomena: a contradicted finding is reported, not raised.
REPORTING_PROFILES = {"smoke"}


class FindingNotShown(AssertionError):
    """A claim of the prose that the chapter's own outputs contradict."""


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so they compare and print like the literal the prose states."""
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def _check(kind: str, label: str, value: object, expected: object, may_report: bool) -> None:
    value, expected = _plain(value), _plain(expected)
    if value == expected:
        print(f"{kind}: {label}: {value}")
        return
    profile = get_profile().name
    if may_report and profile in REPORTING_PROFILES:
        print(f"{kind}: {label}: {value} (the text claims {expected}; {profile} models need not show it)")
        return
    raise FindingNotShown(
        f"{kind} not shown in profile {profile!r}: {label}: got {value!r}, the text claims {expected!r}"
    )


def finding(label: str, value: object, expected: object = True) -> None:
    """Print ``finding: label: value``; raise :class:`FindingNotShown` if ``value != expected`` (not in smoke)."""
    _check("finding", label, value, expected, may_report=True)


def sanity_check(label: str, value: object, expected: object = True) -> None:
    """Print ``code sanity check: label: value``; raise :class:`FindingNotShown` if ``value != expected``."""
    _check("code sanity check", label, value, expected, may_report=False)
