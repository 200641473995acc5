"""Host training with float32 master weights (numpy): SGD with momentum and weight decay."""

from .sgd import SGD, SGDConfig, TrainResult, evaluate_float, loss_and_grads, train

__all__ = ["SGD", "SGDConfig", "TrainResult", "evaluate_float", "loss_and_grads", "train"]
