"""The Flask-SQLAlchemy handle, bound to an app by the factory with ``init_app``.

It lives beside the models so that use cases and the sync protocol reach the session without
importing the web layer.
"""

from flask_sqlalchemy import SQLAlchemy

from models.base import Base

db = SQLAlchemy(model_class=Base)
