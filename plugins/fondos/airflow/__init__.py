"""The Airflow layer: the DAGs' factories (`dag_procesos`, `vigilancia`), their tasks (`dag_tasks`,
`firma_tasks`, `aviso`, `plazo`), the business-day timetable, and what Airflow's processes import (`preload`,
`worker_host`). It uses `fondos.pipeline`. The local Airflow of a checkout is a development tool
(fondos_dev.local_airflow), not part of this package.

The folder is named for the layer; `import airflow` inside it still means
Apache Airflow (absolute imports)."""
