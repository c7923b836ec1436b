"""How the system is run: its parts (`deploy/parts.py`), the pinned versions
(`deploy/versions.env`), the native stack (`deploy/native/`) and uv's bootstrap (`deploy/uv.sh`).
docker-compose.yml, at the top for `docker compose` to find, runs the same parts."""
