"""One module per resource of the JSON API, each an `APIRouter` without a prefix.

`app/api/router.py` mounts them under `/api/v1`. Today: `content` (framework, conditions,
quiz), `score`, `responses`, and `health` (at the root). Partner embedding (`embed.py`) and the
analyst export (`export.py`) belong here too when they are built.
"""
