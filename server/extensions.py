"""Flask extensions, created unbound here and wired to the app with ``init_app``.

The flask-smorest ``Api`` is the exception: it holds the OpenAPI spec of one app, so the
factory creates one per app.
"""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from server.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
