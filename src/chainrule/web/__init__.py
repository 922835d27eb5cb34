"""The browser explorer behind ``chainrule serve``: a starlette app, its JSON API and the page.

>>> from chainrule.web import create_app
>>> app = create_app()          # serve with uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from chainrule.errors import extras_needed_by

with extras_needed_by("the browser explorer (chainrule.web)"):  # starlette, pydantic: [app]
    from chainrule.web.app import create_app

__all__ = ["create_app"]
