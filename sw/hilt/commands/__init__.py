"""Sub-commands of the ``hilt`` CLI, grouped by what they work on."""
