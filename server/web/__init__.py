"""Server-rendered pages for office staff (zh-CN)."""

from flask import Flask

from core.errors import zh_message
from core.policy import can
from models import User
from models.people import ROLE_LABELS
from server.extensions import db, login_manager

# Each module exposes ``bp``; new page areas add their module name here.
MODULES = ("auth_pages", "home", "lifecycle", "review", "dossiers", "admin", "legal", "capture")


def register(app: Flask) -> None:
    """Register page blueprints and the Flask-Login user loader."""
    import importlib

    login_manager.login_view = "web.login"
    login_manager.login_message = "请先登录。"

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None

    for name in MODULES:
        module = importlib.import_module(f"server.web.{name}")
        app.register_blueprint(module.bp)

    @app.context_processor
    def inject_labels():

        return {"ROLE_LABELS": ROLE_LABELS, "can": can, "zh_message": zh_message}
