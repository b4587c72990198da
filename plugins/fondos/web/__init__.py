"""The web layer: the proceso API and the board, a FastAPI app Airflow's API server mounts under /fondos
(`api`), what it reads (`lectura`) and the board's static assets (`static/`). Uses pipeline and db."""
