"""The `newsbot` command line, and the only place that reads the environment.

`main` parses the arguments, loads the settings and runs one command; each
command group lives in its own module (`index`, `search` with `audit`,
`digest`, `serve` with `quickstart`, `follows`) and adds its own subcommand. A mistake
the user can fix is one sentence on stderr and exit 2, never a traceback.

What only some commands need is imported by them: `newsbot index` run from
cron, finding nothing new, answers without SQLAlchemy (storage.scan), rich or
the Slack SDK, which would otherwise be a third of its time.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dotenv import dotenv_values

from bot.settings import SETTINGS, ConfigError, Settings
from storage.errors import DatabaseError
from storage.scan import FolderError

if TYPE_CHECKING:
    from storage.db import Database

Handler = Callable[[argparse.Namespace, Settings], int]


#: The process started with stdout closed (`>&-`): output meant for a program (`--png -`)
#: is refused, the rest goes nowhere.
stdout_closed = False


class UserError(Exception):
    """A mistake the user can fix; printed as one sentence, no traceback."""


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, over the values of a `.env` file if there is one."""
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ if environ is None else environ)
    return Settings.from_env(env)


def open_db(settings: Settings) -> Database:
    """The database of NEWSBOT_DATABASE_URL, migrated to the newest schema."""
    from storage.db import open_database

    return open_database(settings.database_url)


WHERE_FROM = {
    "SLACK_BOT_TOKEN": "OAuth & Permissions > Bot User OAuth Token",
    "SLACK_APP_TOKEN": "Basic Information > App-Level Tokens, with connections:write",
    "SLACK_SIGNING_SECRET": "Basic Information > App Credentials > Signing Secret",
}


def missing_sentence(missing: Sequence[str]) -> str:
    """Which Slack credentials are missing, and where on the app's page each one is."""
    where = "; ".join(f"{name} from {WHERE_FROM[name]}" for name in missing)
    unset = "is not set: copy it" if len(missing) == 1 else "are not set: copy them"
    return (
        f"{' and '.join(missing)} {unset} from your app's page at api.slack.com/apps ({where}) "
        "into the environment or .env"
    )


# The database's LIMIT is a 64-bit integer; nobody reads a billion rows anyway.
_MOST_ROWS = 1_000_000_000


def positive(value: str) -> int:
    """argparse type: a whole number from 1 to a billion, in ASCII digits."""
    # str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch("[0-9]{1,10}", value, re.ASCII) or not 1 <= int(value) <= _MOST_ROWS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {_MOST_ROWS}, got {value!r}"
        )
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; `newsbot --help` lists the environment too."""
    from bot.cli import digest, follows, index, search, serve, stats

    env_help = "\n".join(
        f"  {s.env:<26} {s.help.replace('`', '')}"
        + (f" (default {s.default})" if s.default else "")
        for s in SETTINGS
    )
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="A Slack app for news desks: index, search, digest and review articles.",
        epilog=f"environment (also read from a .env file):\n{env_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (index, search, digest, serve, follows, stats):
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `newsbot` command; the exit status."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): what it prints goes nowhere
        global stdout_closed
        stdout_closed = True
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, while a closed pipe can still be caught
    except BrokenPipeError:
        # The reader went away (`newsbot search ai | head -1`): stop quietly with 1, as
        # rich does for the tables. Point stdout at /dev/null so that the interpreter's
        # own flush at exit does not fail again.
        _silence_stdout()
        return 1
    except OSError as exc:
        if exc.errno not in _CANNOT_WRITE:
            raise
        # Output to a full disk (`> /dev/full`) or a closed descriptor: one sentence.
        print(f"newsbot: cannot write the output ({exc.strerror})", file=sys.stderr)
        _silence_stdout()
        return 2


# Why writing the output can fail that is no fault of ours.
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # A line per migration step, per file change, per font cache built.
    for noisy in ("alembic", "watchfiles", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A failed Web API call raises into code that reports it: in one sentence (the
    # digest) or with its traceback (a listener). slack_sdk's line would say it twice.
    logging.getLogger("slack_sdk.web.base_client").addFilter(
        lambda record: not record.getMessage().startswith("Failed to send a request")
    )
    handler: Handler = args.handler
    try:
        return handler(args, load_settings())
    except (UserError, ConfigError, DatabaseError, FolderError) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
