"""hilt's PYNQ notebooks (``pynq get-notebooks hilt`` copies the .ipynb files beside this module)."""
