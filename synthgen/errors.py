"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: one line naming the rule, the value and the fix."""

    exit_code = 2


class RecipeError(UserError):
    """An invalid recipe key: `recipe: <key>: <rule>, got <value>`."""

    def __init__(self, key: str, rule: str, value: object = None, fix: str = ""):
        self.key, self.rule, self.value = key, rule, value
        message = f"recipe: {key}: {rule}"
        if value is not None:
            message += f", got {value!r}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class MissingDependencyError(UserError):
    """An optional dependency is not installed; says what to install."""

    def __init__(self, what: str, package: str):
        super().__init__(f"{what} needs the package '{package}': pip install {package}")
