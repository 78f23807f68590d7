"""WSGI entry point: builds the Dangan app and nothing else."""

from server import create_app

app = create_app()
