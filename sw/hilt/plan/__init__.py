"""The hardware plan: one typed description of the accelerator, from the search to the generated code.

The design-space exploration produces a :class:`HardwarePlan`; the performance and resource models
read it; code generation renders it into the project's ``params.h`` (one config struct per layer, with
typedefs and ``static_assert``s) and refuses a plan its kernels do not implement. See
docs/architecture.md for the walk of one parameter from the search to ``params.h``.
"""

from .hardware import (HLS, MODEL, TARGETS, Folding, HardwarePlan, LayerPlan, Target, UnitPlan, default_plan,
                       load_plan, make_plan, parse_plan)

__all__ = ["HLS", "MODEL", "TARGETS", "Folding", "HardwarePlan", "LayerPlan", "Target", "UnitPlan", "default_plan",
           "load_plan", "make_plan", "parse_plan"]
