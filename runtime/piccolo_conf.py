"""Piccolo configuration (`PICCOLO_CONF=runtime.piccolo_conf`): migrations run as the owner."""

from piccolo.conf.apps import AppRegistry

from runtime.db import OWNER_DB as DB

APP_REGISTRY = AppRegistry(apps=["runtime.piccolo_app"])

__all__ = ["DB", "APP_REGISTRY"]
