"""The wheel carries the SQL inside the package: sql/ -> fondos/sql, migrations/ -> fondos/migrations
(fondos.settings.bundled finds them there). An editable install (make setup) gets no copy: the package then
reads the checkout's own folders, so an edited SQL file is what runs."""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BundleSql(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["sql"] = "fondos/sql"
            build_data["force_include"]["migrations"] = "fondos/migrations"
