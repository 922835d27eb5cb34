"""The command modules; importing each one registers its commands on ``chainrule.cli.app``.

Add a module here with ``from chainrule.commands import NAME  # noqa: F401``. The import order is
the order of the commands in ``chainrule --help``.
"""

# isort: skip_file
from chainrule.commands import train  # noqa: F401
from chainrule.commands import explain  # noqa: F401
from chainrule.commands import serve  # noqa: F401
