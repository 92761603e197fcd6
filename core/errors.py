"""The one error type the command line turns into a single clear line."""


class ShopmartsError(Exception):
    """A problem the user can act on: printed as one line, never as a traceback."""
