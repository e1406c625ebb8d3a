"""Governor's decision engine: pure functions of (spec, observation, state, now).

``decide`` decides one service; ``decide_many`` decides many in one call (the same path, with
the garbage collector paused). ``PolicyState`` is what the engine remembers between ticks
(JSON-safe, persisted in the CR status). See docs/policy.md for the model and its knobs.
"""

from governor.policy.batch import decide_many
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.policy.decide import Decide, decide, deciding_with
from governor.policy.state import PolicyState

__all__ = ["DEFAULT_CONFIG", "Decide", "PolicyConfig", "PolicyState", "decide", "decide_many", "deciding_with"]
