"""The one exception type users see.

Anything that is the user's fault (a broken file, an unsupported op, a board too small, a missing
vendor tool) raises :class:`HiltError` with a one-line message naming the culprit and what to do.
The CLI turns it into ``hilt: error: <message>`` on stderr and exit code 2, without a traceback.
"""


class HiltError(Exception):
    """A user-facing error: one line, names the culprit and the fix."""

    exit_code = 2
