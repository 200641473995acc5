"""Design-space exploration: boards, performance and resource models, search of per-layer folding."""

from .boards import Board, board_names, load_board
from .perf import Performance, macs_per_sample, performance, physical_limit, stages
from .resources import Coefficients, design_features, parse_utilization
from .search import Design, Result, Space, greedy, pareto, search

__all__ = ["Board", "board_names", "load_board", "Performance", "macs_per_sample", "performance", "physical_limit",
           "stages", "Coefficients", "design_features", "parse_utilization", "Design", "Result", "Space", "greedy",
           "pareto", "search"]
