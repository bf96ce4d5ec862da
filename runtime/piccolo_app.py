"""The one Piccolo app; its migrations live in piccolo_migrations/."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from runtime.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="hirebuddha",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "piccolo_migrations"),
    table_classes=ALL_TABLES,
)
