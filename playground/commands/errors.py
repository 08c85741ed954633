"""The one error the commands raise for a person's mistake."""

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A problem with what the user asked for; its message is shown as is (exit status EXIT_USER_ERROR)."""
