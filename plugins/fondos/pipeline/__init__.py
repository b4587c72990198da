"""The pipeline layer: the stage catalog (`stages`), the proceso lifecycle
(`proceso`), dates (`fechas`), figures and reports (`metrics`, `report`,
`progress`) and the demo data (`demo`). It uses `fondos.db`, never Airflow."""
