"""ClickHouse errors as the endpoint reports them: the code, and the engine's wording."""

from __future__ import annotations

import re

# ClickHouse error codes this layer raises itself.
SYNTAX_ERROR = 62
NOT_IMPLEMENTED = 48
UNKNOWN_SETTING = 115
CANNOT_DECOMPRESS = 271
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
INVALID_SESSION_TIMEOUT = 374
READONLY = 164
ACCESS_DENIED = 497
AUTHENTICATION_FAILED = 516
STD_EXCEPTION = 1001
ERROR_NAMES = {
    READONLY: "READONLY",
    ACCESS_DENIED: "ACCESS_DENIED",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    SYNTAX_ERROR: "SYNTAX_ERROR",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    INVALID_SESSION_TIMEOUT: "INVALID_SESSION_TIMEOUT",
    STD_EXCEPTION: "STD_EXCEPTION",
}


class ClickHouseError(Exception):
    """An error reported to the client as ClickHouse reports it: code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def local(cls, code: int, text: str) -> ClickHouseError:
        """An error of this layer, worded like the engine's."""
        return cls(
            code, f"Code: {code}. DB::Exception: {text}. ({ERROR_NAMES.get(code, 'UNKNOWN')})"
        )

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Parse chDB's error text (``Code: N. DB::Exception: ... (NAME)``)."""
        if isinstance(exc, ClickHouseError):
            return exc
        text = str(exc)
        start = text.find("Code: ")
        match = re.match(r"Code: (\d+)\.", text[start:]) if start >= 0 else None
        if match is None:
            return cls.local(STD_EXCEPTION, f"{type(exc).__name__}: {text}")
        message = re.sub(r"\s*\(version [^)]*\)\s*$", "", text[start:].strip())
        return cls(int(match.group(1)), message)

    def body(self, version: str) -> bytes:
        """The response body: the message with the server version, as ClickHouse ends it."""
        return f"{self.message} (version {version})\n".encode()


class StreamAborted(Exception):
    """The client went away; nothing more can be said to it."""
