"""The `<id:...>` URL converter: a path segment that is not a run or comparison id is a 404.

Run ids go straight into Redis key names (`fanout:run:<id>`), so `<id>:running` would read the
run's running-tasks hash as if it were the run (a 500), and `<id>:order` a list (WRONGTYPE).
Matching the id format in the route keeps every such path from reaching a view at all.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter

from contract.keys import ID_PATTERN


class IdConverter(BaseConverter):
    regex = ID_PATTERN
