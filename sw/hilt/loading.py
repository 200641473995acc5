"""Turning what a user typed as MODEL into a network: an ONNX file, or the name of a zoo model."""

from __future__ import annotations


from .errors import HiltError
from .ir import Network


def load_network(spec: str) -> Network:
    """Import ``spec`` as an ONNX path, or build the zoo model of that name."""
    from . import zoo
    from .frontend import import_onnx

    from .validate import exists

    if exists(spec):
        return import_onnx(spec)
    if spec in zoo.names():
        return import_onnx(zoo.build(spec))
    raise HiltError(f"{spec[:200]}: no such ONNX file and not a zoo model (zoo: {', '.join(zoo.names())})")


def load_splits(spec: str, net):
    """(train, held_out) data sets of ``spec``, fitted to the network's input shape (an image folder is
    decoded straight to it)."""
    from . import data

    train_ds, test_ds = data.load_splits(spec, shape=net.input_shape)
    return data.fit_to(train_ds, net.input_shape), data.fit_to(test_ds, net.input_shape)
