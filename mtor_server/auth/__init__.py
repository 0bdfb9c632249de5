from .accounts import ANONYMOUS, SYSOP, USER, Accounts, Caller, Token, User, anonymous_allowed

__all__ = ["ANONYMOUS", "SYSOP", "USER", "Accounts", "Caller", "Token", "User", "anonymous_allowed"]
