"""What uvicorn serves: `uvicorn app.asgi:app` (`make run`, the image's CMD, bench/serve.py and
the tests' servers), the app built once per worker process and the process tuned for serving.

The tuning is here, not in `app/main.py`, so that the tests and the CLI, which import the app
factory, keep Python's own garbage collector settings:

- A uvicorn worker imports the HTTP protocol class (`--http`) before the app, and ours imports
  the app's middleware, FastAPI and pydantic with it: so the class is named as this module's
  (`--http app.asgi:BoundedHttpTools`) and imported below with the collector paused too (about
  70 ms of a worker's start, measured importing both with and without the pause).
- Start-up makes about 175,000 objects (modules, routes, models, content) that live as long as
  the process. The collector, running while they are made, walked them again and again: about
  100 ms of each worker's start. It is paused until the app is built, then those objects are
  frozen out of its walks (a full collection under load took 100 ms) and it runs again. Frozen
  without a collection first: start-up leaves a few hundred objects of garbage, and finding
  them would cost a worker 60 ms of its start.
- A submission makes thousands of short-lived containers, nearly all freed by reference
  counting; a young collection every 10,000 of them instead of every 700 spent about 8% less
  CPU a submission under load (measured with wrk: 906-960 µs against 991-1,073 µs).
"""

from __future__ import annotations

import gc

gc.disable()

import logging

from app.main import create_app
from app.server import BoundedHttpTools

__all__ = ["BoundedHttpTools", "app"]

YOUNG_COLLECTION_EVERY = 10_000

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
gc.freeze()
gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, 10)
gc.enable()
