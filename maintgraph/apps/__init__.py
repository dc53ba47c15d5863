"""The faces over the library: cli.py (Typer), api.py (FastAPI), slack.py, teams.py."""
