"""How hard the property tests try: quick by default, today's full depth when CI is set.

`.ci/run` (and most CI systems) set CI. Tests with their own depth write
`max_examples=depth(300)`; the rest take the loaded profile's count.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = bool(os.environ.get("CI"))

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "quick",
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if IN_CI else "quick")


def depth(examples: int) -> int:
    """`examples` in CI; a tenth of it (at least 10) otherwise."""
    return examples if IN_CI else max(10, examples // 10)
