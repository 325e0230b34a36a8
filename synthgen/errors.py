"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from synthgen.config.redaction import shown_value


class UserError(Exception):
    """A mistake in the user's input: one line naming the rule, the value and the fix."""

    exit_code = 2


class RecipeError(UserError):
    """An invalid recipe key: `recipe: <key>: <rule>, got <value>`.

    The value is shown as `synthgen.config.redaction.shown_value` allows: never for
    `generator.api_key_env`, with credentials redacted for `generator.base_url`, and not
    at all when it looks like a key; `value` keeps only what the message shows."""

    def __init__(self, key: str, rule: str, value: object = None, fix: str = ""):
        shown = None if value is None else shown_value(key, value)
        self.key, self.rule, self.value = key, rule, shown
        message = f"recipe: {key}: {rule}"
        if shown is not None:
            message += f", got {shown}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class MissingDependencyError(UserError):
    """An optional dependency is not installed; says what to install."""

    def __init__(self, what: str, package: str):
        super().__init__(f"{what} needs the package '{package}': pip install {package}")
