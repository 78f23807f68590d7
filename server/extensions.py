"""Flask extensions, created unbound here and wired to the app with ``init_app``.

The flask-smorest ``Api`` is the exception: it holds the OpenAPI spec of one app, so the
factory creates one per app.
"""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from models.database import db

__all__ = ["csrf", "db", "login_manager", "migrate"]
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
