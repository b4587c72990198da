"""The pipeline layer: the stage catalog (`stages`), the proceso lifecycle
(`proceso`), dates (`fechas`), checks and sign-off (`firma`), figures and reports (`metrics`, `report`,
`progress`). It uses `fondos.db`, never Airflow. The demo data is a development tool (fondos_dev.demo)."""
